/**
 * `rapport`: the operator command line, on the same database the server uses (DATABASE_URL, or
 * the embedded engine in RAPPORT_DATA_DIR). Results on stdout, messages on stderr, and an exit
 * code a script can trust (docs/cli.md). Always exits promptly: the database is closed after
 * each command, and the embedded engine's one-process rule is reported, never waited on.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { DatabaseBusyError } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { type Command, commands, type Io, type OptionSpec } from './commands.ts';
import { CliError, connect, EXIT, requireCurrentSchema } from './database.ts';

const io: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

const ENV_HELP = `Environment (the same as the server's):
  DATABASE_URL       postgres://… to work on a PostgreSQL server
  RAPPORT_DATA_DIR   the embedded engine's data directory (default ./data); only one process
                     may open it, so stop the server first or run on PostgreSQL

Exit codes: 0 done · 1 refused or failed (nothing changed) · 2 wrong command line · 3 database in use or unreachable`;

function usageLine(command: Command): string {
  const parts = Object.entries(command.options).map(([name, spec]) => {
    const flag = spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.value ?? '<value>'}`;
    const shown = spec.multiple ? `${flag}…` : flag;
    return spec.required ? shown : `[${shown}]`;
  });
  return ['rapport', ...command.words, ...parts].join(' ');
}

function generalHelp(): string {
  const width = Math.max(...commands.map((c) => c.words.join(' ').length));
  const list = commands.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: rapport <command> [options]   (rapport <command> --help for its options)

Commands:
${list}

${ENV_HELP}`;
}

function commandHelp(command: Command): string {
  const names = Object.entries(command.options);
  const width = Math.max(0, ...names.map(([n, s]) => `--${n} ${s.value ?? ''}`.length));
  const options = names
    .map(([n, s]) => `  ${`--${n} ${s.type === 'string' ? (s.value ?? '') : ''}`.padEnd(width)}  ${s.help}`)
    .join('\n');
  return [
    `Usage: ${usageLine(command)}`,
    '',
    command.summary + (command.details ? `\n${command.details}` : ''),
    options ? `\nOptions:\n${options}` : '',
    `  ${'--help'.padEnd(width)}  show this help`,
    '',
    ENV_HELP,
  ].join('\n');
}

/** Finds the command named by the leading words of argv. */
function findCommand(argv: string[]): { command: Command | null; rest: string[]; words: string[] } {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  for (const command of commands) {
    if (command.words.every((w, i) => words[i] === w)) {
      return { command, rest: argv.slice(command.words.length), words };
    }
  }
  return { command: null, rest: argv, words };
}

function parseOptions(command: Command, rest: string[]) {
  const spec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    help: { type: 'boolean' },
  };
  for (const [name, option] of Object.entries(command.options)) {
    spec[name] = option.multiple ? { type: option.type, multiple: true } : { type: option.type };
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: rest, options: spec, strict: true, allowPositionals: false })
      .values as typeof values;
  } catch (err) {
    // node:util's messages name the flag; add where to look.
    throw new CliError(
      `${(err as Error).message}\nSee: rapport ${command.words.join(' ')} --help`,
      EXIT.usage,
    );
  }
  if (values.help) return { help: true, values };
  for (const [name, option] of Object.entries(command.options) as [string, OptionSpec][]) {
    const value = values[name];
    if (option.required && (value === undefined || value === '')) {
      throw new CliError(
        `Missing --${name} ${option.value ?? ''}\nUsage: ${usageLine(command)}`.replace(' \n', '\n'),
        EXIT.usage,
      );
    }
    if (option.choices && typeof value === 'string' && !option.choices.includes(value)) {
      throw new CliError(
        `--${name} must be one of ${option.choices.join(', ')} (got "${value}")`,
        EXIT.usage,
      );
    }
  }
  return { help: false, values };
}

async function run(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    (argv.length === 0 ? io.err : io.out)(generalHelp());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const { command, rest, words } = findCommand(argv);
  if (!command) {
    const group = commands.filter((c) => c.words[0] === words[0]);
    if (group.length > 0 && (words.length === 1 || argv.includes('--help'))) {
      const list = group.map((c) => `  ${usageLine(c)}`).join('\n');
      const asked = argv.includes('--help');
      (asked ? io.out : io.err)(`${asked ? '' : `"rapport ${words[0]}" needs a command:\n`}${list}`);
      return asked ? EXIT.ok : EXIT.usage;
    }
    throw new CliError(`Unknown command "${words.join(' ')}".\n\n${generalHelp()}`, EXIT.usage);
  }
  const { help, values } = parseOptions(command, rest);
  if (help) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  const config = loadConfig();
  const database = await connect(config);
  try {
    if (command.needsSchema) await requireCurrentSchema(database);
    await command.run(database, values, io);
  } finally {
    await database.close();
  }
  return EXIT.ok;
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigError) return EXIT.usage;
  if (err instanceof DatabaseBusyError) return EXIT.unavailable;
  if (err instanceof AppError) return EXIT.failed;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === '28P01')
    return EXIT.unavailable;
  return EXIT.failed;
}

function finish(code: number): void {
  process.exitCode = code;
  // Nothing should keep the process alive after the database closed; if something does, leave anyway.
  setTimeout(() => process.exit(code), 2000).unref();
}

run(process.argv.slice(2)).then(finish, (err: unknown) => {
  const code = exitCodeOf(err);
  const known =
    err instanceof CliError ||
    err instanceof ConfigError ||
    err instanceof DatabaseBusyError ||
    err instanceof AppError;
  io.err(`rapport: ${known ? (err as Error).message : `unexpected error: ${(err as Error)?.stack ?? err}`}`);
  finish(code);
});
