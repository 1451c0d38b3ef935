/**
 * The operator commands. Each prints its result (an id, a token) alone on stdout so scripts can
 * capture it, and everything meant for a person on stderr. Every write runs in one transaction:
 * a refused command leaves nothing behind.
 */
import { type Role, roles } from '../../shared/domain/roles.ts';
import type { Database, Db } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { AppError } from '../errors.ts';
import {
  createTeam,
  createTenant,
  createToken,
  createUser,
  getTeamByName,
  getTenantBySlug,
  revokeToken,
} from '../modules/tenants/tenants.service.ts';
import { CliError, EXIT, schemaState } from './database.ts';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  readStdin(): Promise<string>;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  help: string;
  /** Placeholder shown in usage, e.g. <slug>. */
  value?: string;
  required?: boolean;
  multiple?: boolean;
  choices?: readonly string[];
}

type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  words: string[];
  summary: string;
  details?: string;
  options: Record<string, OptionSpec>;
  /** False only for `migrate`: every other command needs the current schema. */
  needsSchema: boolean;
  run(database: Database, values: Values, io: Io): Promise<void>;
}

const tenantOption: OptionSpec = {
  type: 'string',
  value: '<slug>',
  required: true,
  help: 'the organisation, by slug',
};
const roleOption: OptionSpec = {
  type: 'string',
  value: '<role>',
  required: true,
  choices: roles,
  help: `one of ${roles.join(', ')}`,
};

/** Runs fn in one transaction; the services take any executor. */
function atomically<T>(database: Database, fn: (db: Db) => Promise<T>): Promise<T> {
  return database.db.transaction((tx) => fn(tx as unknown as Db));
}

const str = (values: Values, name: string) => values[name] as string;

export const commands: Command[] = [
  {
    words: ['migrate'],
    summary: 'Apply the database migrations this release ships (safe to run any time)',
    details:
      'Runs under an advisory lock, so several nodes or a running server on PostgreSQL can start at the same time.',
    options: {},
    needsSchema: false,
    async run(database, _values, io) {
      const before = await schemaState(database);
      await migrate(database);
      const after = await schemaState(database);
      const applied = after.applied - before.applied;
      io.out(
        applied > 0
          ? `Applied ${applied} migration(s); the schema is at ${after.latest}.`
          : `Nothing to apply; the schema is at ${after.latest}.`,
      );
    },
  },
  {
    words: ['seed', 'demo'],
    summary: 'Create the demo organisation (slug "demo"): staff, teams, customers and cases',
    details: 'Refuses when an organisation with slug "demo" exists already.',
    options: {},
    needsSchema: true,
    async run(database, _values, io) {
      // Loaded here: the demo's modules would add half a second to every other command's start.
      const { DEMO_SIGN_IN, seedDemo } = await import('../db/seed/demo.ts');
      const summary = await seedDemo(database.db);
      io.out(
        `Created the demo organisation "${summary.name}" (slug ${summary.slug}): ${summary.staff} staff, ` +
          `${summary.customers} customers, ${summary.cases} cases.`,
      );
      io.out(
        `Sign in: organisation "${DEMO_SIGN_IN.tenant}", ${DEMO_SIGN_IN.email} / ${DEMO_SIGN_IN.password}`,
      );
    },
  },
  {
    words: ['tenant', 'create'],
    summary: 'Create an organisation; prints its id',
    options: {
      slug: {
        type: 'string',
        value: '<slug>',
        required: true,
        help: 'short name used at sign-in: lower-case letters, digits, inner hyphens',
      },
      name: { type: 'string', value: '<name>', required: true, help: 'display name' },
    },
    needsSchema: true,
    async run(database, values, io) {
      const tenant = await atomically(database, (db) =>
        createTenant(db, { slug: str(values, 'slug'), name: str(values, 'name') }),
      );
      io.out(tenant.id);
      io.err(`Created organisation "${tenant.name}" (slug ${tenant.slug}).`);
    },
  },
  {
    words: ['user', 'create'],
    summary: 'Create a staff member; prints their id',
    details:
      'Without a password the person cannot sign in yet. --password is visible in the process list and shell history; prefer --password-stdin.',
    options: {
      tenant: tenantOption,
      email: { type: 'string', value: '<email>', required: true, help: 'sign-in address' },
      name: { type: 'string', value: '<display name>', required: true, help: 'name customers see' },
      role: roleOption,
      password: { type: 'string', value: '<password>', help: 'at least 10 characters' },
      'password-stdin': { type: 'boolean', help: 'read the password from standard input' },
      team: {
        type: 'string',
        value: '<team name>',
        multiple: true,
        help: 'add to this team (repeat for several)',
      },
    },
    needsSchema: true,
    async run(database, values, io) {
      if (values.password !== undefined && values['password-stdin']) {
        throw new CliError('Give either --password or --password-stdin, not both.', EXIT.usage);
      }
      let password = values.password as string | undefined;
      if (values['password-stdin']) {
        password = (await io.readStdin()).replace(/\r?\n$/, '');
        if (!password) throw new CliError('--password-stdin: standard input was empty.', EXIT.usage);
      }
      const user = await atomically(database, async (db) => {
        const tenant = await getTenantBySlug(db, str(values, 'tenant'));
        const teamIds: string[] = [];
        for (const name of (values.team as string[] | undefined) ?? []) {
          teamIds.push((await getTeamByName(db, tenant.id, name)).id);
        }
        return createUser(db, tenant.id, {
          email: str(values, 'email'),
          displayName: str(values, 'name'),
          role: str(values, 'role') as Role,
          password: password ?? null,
          teamIds,
        });
      });
      io.out(user.id);
      io.err(
        `Created ${user.role} ${user.displayName} <${user.email}>${password ? '' : ' without a password (cannot sign in yet)'}.`,
      );
    },
  },
  {
    words: ['team', 'create'],
    summary: 'Create a team; prints its id',
    options: {
      tenant: tenantOption,
      name: {
        type: 'string',
        value: '<name>',
        required: true,
        help: 'team name, unique in the organisation',
      },
    },
    needsSchema: true,
    async run(database, values, io) {
      const team = await atomically(database, async (db) => {
        const tenant = await getTenantBySlug(db, str(values, 'tenant'));
        return createTeam(db, tenant.id, str(values, 'name'));
      });
      io.out(team.id);
      io.err(`Created team "${team.name}".`);
    },
  },
  {
    words: ['token', 'create'],
    summary: 'Create an API token; prints only the token (shown this once; only a hash is kept)',
    details: 'Use it as "Authorization: Bearer <token>". Example: TOKEN=$(npx rapport token create …)',
    options: {
      tenant: tenantOption,
      role: roleOption,
      name: {
        type: 'string',
        value: '<name>',
        required: true,
        help: 'what it is for, unique in the organisation',
      },
    },
    needsSchema: true,
    async run(database, values, io) {
      const token = await atomically(database, async (db) => {
        const tenant = await getTenantBySlug(db, str(values, 'tenant'));
        return createToken(db, tenant.id, { name: str(values, 'name'), role: str(values, 'role') as Role });
      });
      io.out(token.secret);
      io.err(
        `Created ${str(values, 'role')} token "${str(values, 'name')}"; store it now, it is not shown again.`,
      );
    },
  },
  {
    words: ['token', 'revoke'],
    summary: 'Revoke an API token by name; requests with it are refused from now on',
    options: {
      tenant: tenantOption,
      name: { type: 'string', value: '<name>', required: true, help: 'the name given at creation' },
    },
    needsSchema: true,
    async run(database, values, io) {
      const name = str(values, 'name');
      const revoked = await atomically(database, async (db) => {
        const tenant = await getTenantBySlug(db, str(values, 'tenant'));
        return revokeToken(db, tenant.id, name);
      });
      if (!revoked) {
        throw new AppError(
          'not_found',
          `No active token named "${name}" in organisation "${values.tenant}".`,
        );
      }
      io.err(`Revoked token "${name}".`);
    },
  },
];
