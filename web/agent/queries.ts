/**
 * Server state of the agent workspace, through TanStack Query. Keys are grouped so one realtime
 * notice can invalidate exactly what it touches: every case list ('cases'), the badge counts,
 * and the open case and its timeline.
 */
import {
  infiniteQueryOptions,
  type QueryClient,
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { api, type Case, type CaseListQuery, type Session } from '../lib/api.ts';

export const keys = {
  session: ['session'] as const,
  counts: ['counts'] as const,
  cases: ['cases'] as const,
  caseList: (filter: CaseListQuery) => ['cases', filter] as const,
  case: (ref: string) => ['case', ref] as const,
  timeline: (caseId: string) => ['timeline', caseId] as const,
  customer: (id: string) => ['customer', id] as const,
  users: ['users'] as const,
  teams: ['teams'] as const,
};

export const sessionQuery = queryOptions({
  queryKey: keys.session,
  queryFn: api.session.get,
  staleTime: 5 * 60_000,
  retry: false,
});

export function useSession(): Session {
  const { data } = useQuery(sessionQuery);
  // The authenticated layout loads the session before any page renders.
  if (!data) throw new Error('useSession outside the signed-in area');
  return data;
}

export const caseListQuery = (filter: Omit<CaseListQuery, 'cursor'>) =>
  infiniteQueryOptions({
    queryKey: keys.caseList(filter),
    queryFn: ({ pageParam }) => api.cases.list({ ...filter, cursor: pageParam ?? undefined }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });

export const useCounts = () => useQuery({ queryKey: keys.counts, queryFn: api.counts });

export const useCase = (ref: string) =>
  useQuery({ queryKey: keys.case(ref), queryFn: () => api.cases.get(ref) });

export const useTimeline = (caseId: string | undefined) =>
  useQuery({
    queryKey: keys.timeline(caseId ?? ''),
    queryFn: () => api.cases.timeline(caseId!),
    enabled: !!caseId,
  });

/** Customers change rarely; a list of fifty rows asks for each distinct one once. */
export const customerQuery = (id: string) =>
  queryOptions({ queryKey: keys.customer(id), queryFn: () => api.customers.get(id), staleTime: 10 * 60_000 });

export const useUsers = () => useQuery({ queryKey: keys.users, queryFn: api.users, staleTime: 5 * 60_000 });
export const useTeams = () => useQuery({ queryKey: keys.teams, queryFn: api.teams, staleTime: 5 * 60_000 });

/** Display names by user id, for owners and message authors. */
export function useUserNames(): Map<string, string> {
  const { data } = useUsers();
  return new Map((data ?? []).map((u) => [u.id, u.displayName]));
}

function invalidateCase(client: QueryClient, updated: Case) {
  client.setQueryData(keys.case(String(updated.number)), updated);
  void client.invalidateQueries({ queryKey: keys.timeline(updated.id) });
  void client.invalidateQueries({ queryKey: keys.cases });
  void client.invalidateQueries({ queryKey: keys.counts });
}

export function useUpdateCase(caseRow: Case) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (patch: Parameters<typeof api.cases.update>[1]) => api.cases.update(caseRow.id, patch),
    onSuccess: (updated) => invalidateCase(client, updated),
  });
}

export function useAddMessage(caseRow: Case) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ files, ...input }: Parameters<typeof api.cases.addMessage>[1] & { files?: File[] }) =>
      api.cases.addMessage(caseRow.id, input, files),
    onSuccess: (result) => invalidateCase(client, result.case),
  });
}
