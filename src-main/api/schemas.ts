import { z } from 'zod';
import type { RequestName, RequestOf } from './contract';

/** Each request's parameters, checked before its handler runs: the caller may be a browser. */
const noParams = z.strictObject({});
const id = z.string().min(1).max(200);
const label = z.string().regex(/^(full|incr)-\d{8}\.\d{6}\.\d{3}$/, 'not a session label');
const fingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'not a SHA256:… fingerprint');

const profileInput = z.strictObject({
  id: id.optional(),
  name: z.string().min(1).max(100),
  access: z.enum(['local', 'ssh']),
  ssh: z
    .strictObject({
      host: z.string().min(1).max(255),
      port: z.int().min(1).max(65535),
      user: z.string().min(1).max(64),
      auth: z.enum(['agent', 'key']),
      keyPath: z.string().min(1).max(4096).optional(),
      hostKey: fingerprint.optional(),
    })
    .optional(),
  zimbraHome: z.string().min(1).max(4096),
  target: z.string().min(1).max(4096),
  passphrase: z.string().max(1024).nullable().optional(),
  acceptWeakSecretStorage: z.boolean().optional(),
});

const pruneRule = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('age'),
    amount: z.int().min(0).max(100_000),
    unit: z.enum(['minutes', 'hours', 'days', 'months', 'years']),
  }),
  z.strictObject({ kind: z.literal('label'), label }),
]);

const accounts = z.union([z.literal('all'), z.array(z.string().regex(/^[^\s@]+@[^\s@]+$/)).min(1)]);

export const requestSchemas: { [N in RequestName]: z.ZodType<RequestOf<N>> } = {
  'app.info': noParams,
  'servers.list': noParams,
  'servers.get': z.strictObject({ id }),
  'servers.save': z.strictObject({ profile: profileInput }),
  'servers.remove': z.strictObject({ id }),
  'servers.test': z
    .strictObject({ id: id.optional(), profile: profileInput.optional(), hostKey: fingerprint.optional() })
    .refine((r) => (r.id === undefined) !== (r.profile === undefined), 'give either id or profile'),
  'sessions.list': z.strictObject({ serverId: id }),
  'sessions.get': z.strictObject({ serverId: id, label }),
  'jobs.start': z.strictObject({
    serverId: id,
    operation: z.enum(['backup.full', 'backup.incremental']),
    accounts: accounts.optional(),
  }),
  'jobs.abort': z.strictObject({ jobId: id }),
  'jobs.get': z.strictObject({ jobId: id }),
  'jobs.list': noParams,
  'prune.preview': z.strictObject({ serverId: id, rule: pruneRule }),
  'prune.run': z.strictObject({ serverId: id, rule: pruneRule }),
  'restore.accounts': z.strictObject({ serverId: id }),
  'restore.query': z.strictObject({
    serverId: id,
    account: z.string().min(1).max(320),
    fromMs: z.int().nonnegative().optional(),
    toMs: z.int().nonnegative(),
  }),
  'restore.start': z.strictObject({
    serverId: id,
    account: z.string().min(1).max(320),
    toMs: z.int().nonnegative(),
    prefix: z.string().regex(/^[a-z0-9._-]{1,32}$/i, 'letters, digits, dot, dash or underscore'),
  }),
  'standby.link': z.strictObject({
    serverId: id,
    link: z
      .strictObject({
        standbyServerId: id,
        dir: z.string().regex(/^\//, 'an absolute path').max(4096).optional(),
      })
      .nullable(),
  }),
  'standby.status': z.strictObject({ serverId: id }),
  'standby.failover.preview': z.strictObject({ serverId: id, failedAtMs: z.int().nonnegative().optional() }),
  'standby.failover': z.strictObject({
    serverId: id,
    confirm: z.string().min(1).max(100),
    failedAtMs: z.int().nonnegative().optional(),
  }),
  'restore.plan': z.strictObject({
    serverId: id,
    account: z.string().min(1).max(320),
    toMs: z.int().nonnegative(),
  }),
  'schedules.get': z.strictObject({ serverId: id }),
  'schedules.save': z.strictObject({
    serverId: id,
    entries: z
      .array(
        z.strictObject({
          kind: z.enum(['full', 'incremental', 'delete']),
          cron: z.string().min(1).max(200),
          age: z.string().max(20).optional(),
        }),
      )
      .max(50),
  }),
  'schedules.remove': z.strictObject({ serverId: id }),
  'log.list': z.strictObject({
    serverId: id.optional(),
    level: z.enum(['info', 'warn', 'error']).optional(),
  }),
};
