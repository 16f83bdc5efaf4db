import { describe, expect, it } from 'vitest';
import { ApiFailure, createDispatch } from '../../../src-main/api/handlers';
import { FAKE_INFO, FAKE_SERVERS, fakeApi } from './fake-api';

describe('API handlers', () => {
  it('answers app.info and servers.list from the context, as JSON', async () => {
    const { dispatch } = fakeApi();
    const info = await dispatch('app.info', {});
    const servers = await dispatch('servers.list', {});
    expect(info).toEqual({ ok: true, value: FAKE_INFO });
    expect(servers).toEqual({ ok: true, value: FAKE_SERVERS });
    expect(JSON.parse(JSON.stringify(servers))).toEqual(servers);
  });

  it('treats a missing request body as no parameters', async () => {
    expect(await fakeApi().dispatch('servers.list', undefined)).toMatchObject({ ok: true });
  });

  it('answers an unknown request name with an error value', async () => {
    const { dispatch } = fakeApi();
    for (const name of ['servers.delete', 'toString', '__proto__', 42]) {
      const result = await dispatch(name, {});
      expect(result).toMatchObject({ ok: false, error: { code: 'unknown-request' } });
    }
  });

  it('refuses parameters a request does not take', async () => {
    const { dispatch } = fakeApi();
    for (const req of [{ extra: 1 }, 'text', [], 7]) {
      const result = await dispatch('servers.list', req);
      expect(result).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
  });

  it('turns a failing provider into an error value instead of throwing', async () => {
    const lines: string[] = [];
    const dispatch = createDispatch(
      {
        'app.info': () => FAKE_INFO,
        'servers.list': () => {
          throw new Error('saved servers unreadable');
        },
      },
      (line) => lines.push(line),
    );
    const result = await dispatch('servers.list', {});
    expect(result).toEqual({
      ok: false,
      error: { code: 'internal', message: 'servers.list failed: saved servers unreadable' },
    });
    expect(lines.join('\n')).toContain('saved servers unreadable');
  });

  it('passes an ApiFailure code through', async () => {
    const dispatch = createDispatch({
      'app.info': () => FAKE_INFO,
      'servers.list': async () => {
        throw new ApiFailure('unreachable', 'mail1 does not answer on port 22');
      },
    });
    expect(await dispatch('servers.list', {})).toEqual({
      ok: false,
      error: { code: 'unreachable', message: 'mail1 does not answer on port 22' },
    });
  });
});
