import { useState } from 'react';
import type { ConnectionTest, ServerProfile, ServerProfileInput } from '../../src-main/api/contract';
import type { Stores } from '../stores';

const STEP_NAMES: Record<string, string> = {
  ssh: 'SSH and host key',
  localconfig: 'localconfig.xml',
  mariadb: 'MariaDB',
  ldap: 'LDAP',
  volumes: 'Volumes',
  accounts: 'Accounts',
};

interface Form {
  name: string;
  access: 'local' | 'ssh';
  host: string;
  port: string;
  user: string;
  auth: 'agent' | 'key';
  keyPath: string;
  passphrase: string;
  acceptWeak: boolean;
  hostKey?: string;
  zimbraHome: string;
  target: string;
}

function formOf(p: ServerProfile | undefined): Form {
  return {
    name: p?.name ?? '',
    access: p?.access ?? 'ssh',
    host: p?.ssh?.host ?? '',
    port: String(p?.ssh?.port ?? 22),
    user: p?.ssh?.user ?? 'root',
    auth: p?.ssh?.auth ?? 'agent',
    keyPath: p?.ssh?.keyPath ?? '',
    passphrase: '',
    acceptWeak: false,
    hostKey: p?.ssh?.hostKey,
    zimbraHome: p?.zimbraHome ?? '/opt/zimbra',
    target: p?.target ?? '',
  };
}

function inputOf(f: Form, id: string | undefined): ServerProfileInput {
  return {
    ...(id ? { id } : {}),
    name: f.name.trim(),
    access: f.access,
    ...(f.access === 'ssh'
      ? {
          ssh: {
            host: f.host.trim(),
            port: Number(f.port),
            user: f.user.trim(),
            auth: f.auth,
            ...(f.auth === 'key' ? { keyPath: f.keyPath.trim() } : {}),
            ...(f.hostKey ? { hostKey: f.hostKey } : {}),
          },
        }
      : {}),
    zimbraHome: f.zimbraHome.trim(),
    target: f.target.trim(),
    ...(f.passphrase ? { passphrase: f.passphrase, acceptWeakSecretStorage: f.acceptWeak } : {}),
  };
}

/**
 * Add or edit a server. "Test connection" goes step by step; over SSH the first answer is the
 * host key's fingerprint, which the administrator compares and trusts before anything else is
 * sent; the trusted key is pinned in the saved server.
 */
export function ServerForm({
  stores,
  initial,
  onDone,
}: {
  stores: Stores;
  initial?: ServerProfile;
  onDone(): void;
}) {
  const info = stores.console((s) => s.info);
  const [form, setForm] = useState<Form>(() => formOf(initial));
  const [test, setTest] = useState<ConnectionTest>();
  const [busy, setBusy] = useState<'testing' | 'saving'>();
  const [error, setError] = useState<string>();
  const set = <K extends keyof Form>(key: K, value: Form[K]) => {
    setForm((f) => ({
      ...f,
      [key]: value,
      // Another address is another server: its key must be confirmed again.
      ...(key === 'host' || key === 'port' ? { hostKey: undefined } : {}),
    }));
    if (key !== 'name' && key !== 'target') setTest(undefined);
  };

  async function runTest(hostKey?: string) {
    setBusy('testing');
    setError(undefined);
    const answer = await stores.api.call('servers.test', {
      profile: inputOf(form, initial?.id),
      ...(hostKey ? { hostKey } : {}),
    });
    setBusy(undefined);
    if (!answer.ok) return setError(answer.error.message);
    setTest(answer.value);
    if (hostKey && answer.value.steps[0]?.outcome === 'ok') setForm((f) => ({ ...f, hostKey }));
  }

  async function save() {
    setBusy('saving');
    setError(undefined);
    const answer = await stores.api.call('servers.save', { profile: inputOf(form, initial?.id) });
    setBusy(undefined);
    if (!answer.ok) return setError(answer.error.message);
    onDone();
  }

  const confirm = test?.steps.find((s) => s.outcome === 'confirm');
  const secrets = info?.secrets ?? 'none';

  return (
    <section className="panel" aria-labelledby="server-form-title" data-testid="server-form">
      <div className="panel-head">
        <h2 id="server-form-title">{initial ? `Edit ${initial.name}` : 'Add a server'}</h2>
      </div>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div className="form-grid">
          <label>
            <span>Name</span>
            <input
              data-testid="form-name"
              value={form.name}
              onChange={(e) => set('name', e.target.value)}
              required
              autoFocus
            />
          </label>
          <fieldset className="segmented">
            <legend>Reached by</legend>
            <label>
              <input
                type="radio"
                name="access"
                checked={form.access === 'ssh'}
                onChange={() => set('access', 'ssh')}
                data-testid="form-access-ssh"
              />
              SSH from this machine
            </label>
            <label>
              <input
                type="radio"
                name="access"
                checked={form.access === 'local'}
                onChange={() => set('access', 'local')}
                data-testid="form-access-local"
              />
              This machine is the server
            </label>
          </fieldset>
          {form.access === 'ssh' && (
            <>
              <label>
                <span>Host</span>
                <input
                  data-testid="form-host"
                  value={form.host}
                  onChange={(e) => set('host', e.target.value)}
                  required
                  placeholder="mail.example.com"
                />
              </label>
              <label className="narrow">
                <span>Port</span>
                <input
                  data-testid="form-port"
                  value={form.port}
                  onChange={(e) => set('port', e.target.value)}
                  inputMode="numeric"
                  required
                />
              </label>
              <label>
                <span>User</span>
                <input
                  data-testid="form-user"
                  value={form.user}
                  onChange={(e) => set('user', e.target.value)}
                  required
                />
              </label>
              <fieldset className="segmented">
                <legend>Log in with</legend>
                <label>
                  <input
                    type="radio"
                    name="auth"
                    checked={form.auth === 'agent'}
                    onChange={() => set('auth', 'agent')}
                  />
                  SSH agent
                </label>
                <label>
                  <input
                    type="radio"
                    name="auth"
                    checked={form.auth === 'key'}
                    onChange={() => set('auth', 'key')}
                    data-testid="form-auth-key"
                  />
                  Key file
                </label>
              </fieldset>
              {form.auth === 'key' && (
                <>
                  <label className="wide">
                    <span>Private key file</span>
                    <input
                      data-testid="form-key"
                      className="mono"
                      value={form.keyPath}
                      onChange={(e) => set('keyPath', e.target.value)}
                      required
                      placeholder="/home/you/.ssh/id_ed25519"
                    />
                  </label>
                  <label className="wide">
                    <span>Key passphrase</span>
                    <input
                      type="password"
                      data-testid="form-passphrase"
                      value={form.passphrase}
                      onChange={(e) => set('passphrase', e.target.value)}
                      disabled={secrets === 'none'}
                      placeholder={
                        secrets === 'none'
                          ? 'Not stored by the web console: use the SSH agent or an unencrypted key'
                          : initial?.hasPassphrase
                            ? 'Stored (type to replace)'
                            : 'None'
                      }
                      autoComplete="off"
                    />
                  </label>
                  {secrets === 'weak' && form.passphrase && (
                    <label className="wide check">
                      <input
                        type="checkbox"
                        checked={form.acceptWeak}
                        onChange={(e) => set('acceptWeak', e.target.checked)}
                      />
                      This system has no keyring: store the passphrase with the app's built-in key anyway
                      (weak protection).
                    </label>
                  )}
                </>
              )}
            </>
          )}
          <label className="wide">
            <span>Zimbra home on the server</span>
            <input
              data-testid="form-zimbra-home"
              className="mono"
              value={form.zimbraHome}
              onChange={(e) => set('zimbraHome', e.target.value)}
              required
            />
          </label>
          <label className="wide">
            <span>Backup target on this machine</span>
            <input
              data-testid="form-target"
              className="mono"
              value={form.target}
              onChange={(e) => set('target', e.target.value)}
              required
              placeholder="/srv/backup/mail1"
            />
          </label>
        </div>

        {form.access === 'ssh' && (
          <p className="muted small" data-testid="form-host-key">
            Host key:{' '}
            {form.hostKey ? (
              <span className="mono">{form.hostKey} (pinned)</span>
            ) : (
              'not confirmed yet — test the connection'
            )}
          </p>
        )}

        {test && (
          <div className="test-result" data-testid="test-result" data-ok={test.ok}>
            <ol className="steps">
              {test.steps.map((s) => (
                <li
                  key={s.step}
                  className={`step step-${s.outcome}`}
                  data-testid={`step-${s.step}`}
                  data-outcome={s.outcome}
                >
                  <span className="step-mark" aria-hidden="true">
                    {s.outcome === 'ok'
                      ? '✓'
                      : s.outcome === 'failed'
                        ? '✕'
                        : s.outcome === 'confirm'
                          ? '?'
                          : '·'}
                  </span>
                  <strong>{STEP_NAMES[s.step]}</strong>
                  <span className="step-detail">{s.detail}</span>
                </li>
              ))}
            </ol>
            {confirm && test.fingerprint && (
              <div className="confirm-key" role="alertdialog" aria-labelledby="confirm-key-title">
                <p id="confirm-key-title">
                  <strong>Is this the server's host key?</strong>
                </p>
                <p className="fingerprint mono" data-testid="offered-fingerprint">
                  {test.fingerprint}
                </p>
                <p className="muted small">
                  On the server, run{' '}
                  <span className="mono">ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</span> and compare.
                  Trusting pins this key: a different one later is refused.
                </p>
                <div className="buttons">
                  <button
                    type="button"
                    className="primary"
                    data-testid="trust-host-key"
                    onClick={() => void runTest(test.fingerprint)}
                  >
                    Trust this key and go on
                  </button>
                  <button type="button" onClick={() => setTest(undefined)}>
                    Don't trust it
                  </button>
                </div>
              </div>
            )}
          </div>
        )}

        {error && (
          <p className="notice notice-error" role="alert" data-testid="form-error">
            {error}
          </p>
        )}
        <div className="buttons">
          <button
            type="button"
            data-testid="test-connection"
            onClick={() => void runTest(form.hostKey)}
            disabled={busy !== undefined}
          >
            {busy === 'testing' ? 'Testing…' : 'Test connection'}
          </button>
          <span className="spacer" />
          <button type="button" onClick={onDone}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="save-server" disabled={busy !== undefined}>
            {busy === 'saving' ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </section>
  );
}
