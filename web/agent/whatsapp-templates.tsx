/**
 * WhatsApp in the composer: when the 24-hour customer-care window closes, and — once it has, or
 * whenever the agent prefers — an approved template with its parameters filled in and previewed.
 * Outside the window free text cannot be sent (the server refuses it with reply_window_closed).
 */
import { Alert, Box, Paper, Select, Stack, Switch, Text, TextInput } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ReplyTemplateInput } from '../../shared/api/reply-options.ts';
import { fillTemplate } from '../../shared/domain/social-text.ts';
import type { ReplyOption } from '../lib/api.ts';
import { formatAbsolute, RelativeTime, useStillAhead } from '../ui/relative-time.tsx';
import type { PlatformChoice } from './platform-reply.tsx';

export function WhatsAppTemplates({
  option,
  onChange,
}: {
  option: ReplyOption;
  onChange: (choice: PlatformChoice) => void;
}) {
  const open = useStillAhead(option.window?.closesAt);
  const [wanted, setWanted] = useState(false);
  const [key, setKey] = useState<string | null>(null);
  const [parameters, setParameters] = useState<string[]>([]);
  const useTemplate = !open || wanted;
  const template = option.templates.find((t) => `${t.name}:${t.language}` === key) ?? null;

  useEffect(() => {
    if (!useTemplate) return onChange({ blocked: null });
    if (!template) {
      return onChange({
        blocked: open ? 'Choose a template, or switch templates off' : 'Choose an approved template to send',
      });
    }
    const values = Array.from({ length: template.parameters }, (_, i) => parameters[i] ?? '');
    const input: ReplyTemplateInput = {
      name: template.name,
      language: template.language,
      parameters: values,
    };
    const missing = values.some((v) => !v.trim());
    onChange({
      template: input,
      preview: fillTemplate(template.text, values),
      blocked: missing ? 'Fill in every parameter of the template' : null,
    });
  }, [useTemplate, template, parameters, open, onChange]);

  return (
    <Box mt="xs" data-testid="whatsapp-templates">
      {open ? (
        <Text size="xs" c="dimmed" data-testid="whatsapp-window">
          WhatsApp window open: free-form replies until{' '}
          <time dateTime={option.window!.closesAt}>{formatAbsolute(option.window!.closesAt)}</time>, 24 hours
          after the customer’s last message.
        </Text>
      ) : (
        <Alert
          color="yellow"
          variant="light"
          p="xs"
          title="The 24-hour WhatsApp window has closed"
          data-testid="whatsapp-window"
        >
          {option.window ? (
            <>
              It closed <RelativeTime iso={option.window.closesAt} />.{' '}
            </>
          ) : null}
          WhatsApp only delivers an approved template until the customer writes again.
          {option.templates.length === 0
            ? ' This channel has no templates: add them in Settings → Channels.'
            : ''}
        </Alert>
      )}
      {open && option.templates.length > 0 ? (
        <Switch
          size="xs"
          mt={6}
          label="Send an approved template instead"
          checked={wanted}
          onChange={(e) => setWanted(e.currentTarget.checked)}
        />
      ) : null}
      {useTemplate && option.templates.length > 0 ? (
        <Stack gap={6} mt={6}>
          <Select
            size="xs"
            label="Approved template"
            placeholder="Choose a template"
            data={option.templates.map((t) => ({
              value: `${t.name}:${t.language}`,
              label: `${t.name} (${t.language})`,
            }))}
            value={key}
            onChange={(v) => {
              setKey(v);
              setParameters([]);
            }}
            allowDeselect={false}
          />
          {template
            ? Array.from({ length: template.parameters }, (_, i) => (
                <TextInput
                  // Parameters are positional: the index is their identity.
                  key={`p${i + 1}`}
                  size="xs"
                  label={`Parameter {{${i + 1}}}`}
                  value={parameters[i] ?? ''}
                  onChange={(e) => {
                    const next = [...parameters];
                    next[i] = e.currentTarget.value;
                    setParameters(next);
                  }}
                  required
                />
              ))
            : null}
          {template ? (
            <Paper withBorder p="xs" radius="sm" data-testid="template-preview">
              <Text size="xs" fw={600} c="dimmed">
                The customer receives
              </Text>
              <Text size="sm">{fillTemplate(template.text, parameters)}</Text>
            </Paper>
          ) : null}
        </Stack>
      ) : null}
    </Box>
  );
}
