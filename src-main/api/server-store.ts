import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ServerProfile, ServerProfileInput } from './contract';
import { ApiFailure } from './failure';
import type { SecretBox } from './secrets';

/**
 * The administrator's saved servers, in `<config dir>/servers.json` (mode 0600, replaced
 * atomically). A key passphrase is kept only sealed by the SecretBox, never in clear; with no
 * box (the web console), or with Linux's weak fallback not accepted, it is refused.
 */
const sshSchema = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
  user: z.string().min(1),
  auth: z.enum(['agent', 'key']),
  keyPath: z.string().optional(),
  hostKey: z.string().optional(),
});

const storedSchema = z.object({
  id: z.string(),
  name: z.string(),
  access: z.enum(['local', 'ssh']),
  ssh: sshSchema.optional(),
  zimbraHome: z.string(),
  target: z.string(),
  hostname: z.string().optional(),
  sealedPassphrase: z.string().optional(),
});
type StoredServer = z.infer<typeof storedSchema>;
const fileSchema = z.object({ format: z.literal(1), servers: z.array(storedSchema) });

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

export class ServerStore {
  private writing: Promise<unknown> = Promise.resolve();
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly secrets: SecretBox,
  ) {
    this.file = path.join(dir, 'servers.json');
  }

  async list(): Promise<ServerProfile[]> {
    return (await this.read()).map(toProfile);
  }

  async get(id: string): Promise<ServerProfile | undefined> {
    const found = (await this.read()).find((s) => s.id === id);
    return found && toProfile(found);
  }

  /** The stored passphrase of a server's key, opened; only for the process that connects. */
  async passphrase(id: string): Promise<string | undefined> {
    const found = (await this.read()).find((s) => s.id === id);
    return found?.sealedPassphrase ? this.secrets.open(found.sealedPassphrase) : undefined;
  }

  save(input: ServerProfileInput): Promise<ServerProfile> {
    return this.change(async (servers) => {
      const existing = input.id === undefined ? undefined : servers.find((s) => s.id === input.id);
      if (input.id !== undefined && !existing)
        throw new ApiFailure('not-found', `There is no saved server ${input.id}.`);
      checkProfile(input);
      const name = input.name.trim();
      if (servers.some((s) => s.id !== existing?.id && s.name.toLowerCase() === name.toLowerCase()))
        throw new ApiFailure('conflict', `A server named “${name}” is already saved.`);
      const stored: StoredServer = {
        id: existing?.id ?? uniqueId(name, servers),
        name,
        access: input.access,
        ssh: input.access === 'ssh' ? { ...input.ssh! } : undefined,
        zimbraHome: input.zimbraHome,
        target: input.target,
        // A new address or zimbra_home may be another server: learn its host name again.
        hostname: sameServer(existing, input) ? existing?.hostname : undefined,
        sealedPassphrase: existing?.sealedPassphrase,
      };
      if (stored.ssh && stored.ssh.auth === 'agent') delete stored.ssh.keyPath;
      if (input.passphrase === null || stored.ssh?.auth !== 'key') delete stored.sealedPassphrase;
      else if (typeof input.passphrase === 'string' && input.passphrase !== '')
        stored.sealedPassphrase = this.seal(input.passphrase, input.acceptWeakSecretStorage === true);
      return {
        servers: existing ? servers.map((s) => (s.id === existing.id ? stored : s)) : [...servers, stored],
        result: toProfile(stored),
      };
    });
  }

  remove(id: string): Promise<void> {
    return this.change(async (servers) => {
      if (!servers.some((s) => s.id === id))
        throw new ApiFailure('not-found', `There is no saved server ${id}.`);
      return { servers: servers.filter((s) => s.id !== id), result: undefined };
    });
  }

  /** After a successful connection test: the host name it reported, and the host key confirmed. */
  learn(id: string, facts: { hostname?: string; hostKey?: string }): Promise<void> {
    return this.change(async (servers) => ({
      servers: servers.map((s) => {
        if (s.id !== id) return s;
        const next = { ...s, hostname: facts.hostname ?? s.hostname };
        if (facts.hostKey && next.ssh) next.ssh = { ...next.ssh, hostKey: facts.hostKey };
        return next;
      }),
      result: undefined,
    }));
  }

  private seal(passphrase: string, acceptWeak: boolean): string {
    if (this.secrets.kind === 'none')
      throw new ApiFailure(
        'bad-request',
        'This console cannot store a passphrase. Use the SSH agent, or a key file without a passphrase readable only by you.',
      );
    if (this.secrets.kind === 'weak' && !acceptWeak)
      throw new ApiFailure(
        'conflict',
        'This system has no keyring: the passphrase could only be stored with a key built into the app, which protects it little. Accept that explicitly, or use the SSH agent.',
      );
    return this.secrets.seal(passphrase);
  }

  private async read(): Promise<StoredServer[]> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.file} is damaged: ${z.prettifyError(parsed.error)}`);
    return parsed.data.servers;
  }

  /** One change at a time, each on the latest file, written whole or not at all. */
  private change<T>(
    edit: (servers: StoredServer[]) => Promise<{ servers: StoredServer[]; result: T }>,
  ): Promise<T> {
    const run = this.writing.then(async () => {
      const { servers, result } = await edit(await this.read());
      await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
      const temp = `${this.file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
      await fs.promises.writeFile(temp, `${JSON.stringify({ format: 1, servers }, null, 2)}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
      await fs.promises.rename(temp, this.file);
      return result;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}

function toProfile(s: StoredServer): ServerProfile {
  const { sealedPassphrase, ...rest } = s;
  return { ...rest, ...(sealedPassphrase ? { hasPassphrase: true } : {}) };
}

function sameServer(existing: StoredServer | undefined, input: ServerProfileInput): boolean {
  if (!existing || existing.access !== input.access || existing.zimbraHome !== input.zimbraHome) return false;
  return existing.ssh?.host === input.ssh?.host && existing.ssh?.port === input.ssh?.port;
}

function checkProfile(input: ServerProfileInput): void {
  if (!input.name.trim()) throw new ApiFailure('bad-request', 'Give the server a name.');
  if (!path.posix.isAbsolute(input.zimbraHome))
    throw new ApiFailure('bad-request', `Zimbra home ${input.zimbraHome}: not an absolute path.`);
  if (!path.isAbsolute(input.target))
    throw new ApiFailure(
      'bad-request',
      `Backup target ${input.target}: not an absolute path on this machine.`,
    );
  if (input.access !== 'ssh') return;
  const ssh = input.ssh;
  if (!ssh) throw new ApiFailure('bad-request', 'An SSH server needs its host, port and user.');
  if (ssh.auth === 'key' && !ssh.keyPath)
    throw new ApiFailure('bad-request', 'Give the private key file, or choose the SSH agent.');
  if (ssh.keyPath !== undefined && !path.isAbsolute(ssh.keyPath))
    throw new ApiFailure('bad-request', `Key file ${ssh.keyPath}: not an absolute path.`);
  if (ssh.hostKey !== undefined && !FINGERPRINT.test(ssh.hostKey))
    throw new ApiFailure('bad-request', `Host key ${ssh.hostKey}: not a SHA256:… fingerprint.`);
}

function uniqueId(name: string, servers: StoredServer[]): string {
  let base =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'server';
  // lab and lab-N are the sandbox's.
  if (/^lab(-|$)/.test(base)) base = `s-${base}`;
  let id = base;
  for (let n = 2; servers.some((s) => s.id === id); n++) id = `${base}-${n}`;
  return id;
}
