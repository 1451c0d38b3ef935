import { Button, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { api } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { keys } from './queries.ts';

const route = getRouteApi('/sign-in');

export function SignInPage() {
  useDocumentTitle('Sign in · Rapport');
  const { redirect } = route.useSearch();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [tenant, setTenant] = useState('demo');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: () => api.session.signIn({ tenant: tenant.trim(), email: email.trim(), password }),
    onSuccess: async (session) => {
      client.clear();
      client.setQueryData(keys.session, session);
      if (redirect) await navigate({ href: redirect });
      else await navigate({ to: '/inbox/$view', params: { view: 'mine' } });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };

  return (
    <main className="sign-in" id="main">
      <Paper component="section" withBorder shadow="xs" p="xl" radius="md" className="sign-in-card">
        <form onSubmit={submit} noValidate>
          <Stack gap="md">
            <div>
              <Text className="brand" component="p" mb={4}>
                Rapport
              </Text>
              <Title order={1}>Sign in to your workspace</Title>
            </div>
            <ErrorAlert error={signIn.error} title="Could not sign in" />
            <TextInput
              label="Organisation"
              description="The short name of your organisation"
              value={tenant}
              onChange={(e) => setTenant(e.currentTarget.value)}
              autoComplete="organization"
              required
              withAsterisk={false}
            />
            <TextInput
              label="Email"
              type="email"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              autoComplete="username"
              required
              withAsterisk={false}
              data-autofocus
            />
            <PasswordInput
              label="Password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              autoComplete="current-password"
              required
              withAsterisk={false}
            />
            <Button type="submit" loading={signIn.isPending} fullWidth>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </main>
  );
}
