import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DETECT_SCRIPT,
  parseDetect,
  planSnapshot,
  type StorageInfo,
} from '../../../src-main/engine/standby/storage-snapshot';

/**
 * The storage-snapshot plans as argv lists. btrfs also runs for real in
 * test/integration/standby-remote.test.ts; LVM and ZFS cannot run on this machine (no
 * device-mapper, no ZFS), so their plans are checked here command by command.
 */
const NAME = 'mailvault-blobs-blobs-20081017.080001.000-v1';

describe('storage snapshot plans', () => {
  it('btrfs: a read-only snapshot of the subvolume inside it, read at the volume path below it, deleted after', () => {
    const info: StorageInfo = {
      fstype: 'btrfs',
      source: '/dev/sdb1[/zimbra]',
      target: '/opt/zimbra',
      subvolume: '/opt/zimbra',
    };
    const plan = planSnapshot(info, '/opt/zimbra/store', NAME, ['/opt/zimbra/.mailvault-blobs-old'])!;
    expect(plan.method).toBe('btrfs');
    expect(plan.create).toEqual([
      ['btrfs', 'subvolume', 'snapshot', '-r', '--', '/opt/zimbra', `/opt/zimbra/.${NAME}`],
    ]);
    expect(plan.readPath).toBe(`/opt/zimbra/.${NAME}/store`);
    expect(plan.remove).toEqual([['btrfs', 'subvolume', 'delete', '--', `/opt/zimbra/.${NAME}`]]);
    expect(plan.leftovers).toEqual([
      ['btrfs', 'subvolume', 'delete', '--', '/opt/zimbra/.mailvault-blobs-old'],
    ]);
  });

  it('LVM: lvcreate --snapshot, mounted read-only (nouuid on xfs), read below the mount, then umount and lvremove', () => {
    const info: StorageInfo = {
      fstype: 'xfs',
      source: '/dev/mapper/vg0-zimbra',
      target: '/opt/zimbra',
      lv: 'vg0/zimbra',
    };
    const plan = planSnapshot(info, '/opt/zimbra/index', NAME, ['vg0/mailvault-blobs-old'])!;
    expect(plan.method).toBe('lvm');
    expect(plan.create).toEqual([
      ['lvcreate', '--snapshot', '--name', NAME, '-l', '10%ORIGIN', '--', 'vg0/zimbra'],
      ['mkdir', '-p', '--', `/run/mailvault/${NAME}`],
      ['mount', '-o', 'ro,nouuid', '--', `/dev/vg0/${NAME}`, `/run/mailvault/${NAME}`],
    ]);
    expect(plan.readPath).toBe(`/run/mailvault/${NAME}/index`);
    expect(plan.remove).toEqual([
      ['umount', '--', `/run/mailvault/${NAME}`],
      ['rmdir', '--', `/run/mailvault/${NAME}`],
      ['lvremove', '-f', '--', `vg0/${NAME}`],
    ]);
    expect(plan.leftovers[2]).toEqual(['lvremove', '-f', '--', 'vg0/mailvault-blobs-old']);
    // ext4 needs no nouuid; a fixed size goes as -L.
    const ext4 = planSnapshot({ ...info, fstype: 'ext4' }, '/opt/zimbra/index', NAME, [], {
      lvmSize: '20G',
    })!;
    expect(ext4.create[0]).toEqual([
      'lvcreate',
      '--snapshot',
      '--name',
      NAME,
      '-L',
      '20G',
      '--',
      'vg0/zimbra',
    ]);
    expect(ext4.create[2]![2]).toBe('ro');
  });

  it('ZFS: zfs snapshot dataset@name, read under .zfs/snapshot, zfs destroy after', () => {
    const info: StorageInfo = {
      fstype: 'zfs',
      source: 'tank/zimbra',
      target: '/opt/zimbra',
      dataset: 'tank/zimbra',
    };
    const plan = planSnapshot(info, '/opt/zimbra/store', NAME)!;
    expect(plan.method).toBe('zfs');
    expect(plan.create).toEqual([['zfs', 'snapshot', '--', `tank/zimbra@${NAME}`]]);
    expect(plan.readPath).toBe(`/opt/zimbra/.zfs/snapshot/${NAME}/store`);
    expect(plan.remove).toEqual([['zfs', 'destroy', '--', `tank/zimbra@${NAME}`]]);
  });

  it('ext4 on a plain disk, or btrfs without the btrfs tool: no plan (the copy method)', () => {
    expect(
      planSnapshot({ fstype: 'ext4', source: '/dev/sda1', target: '/' }, '/opt/zimbra/store', NAME),
    ).toBeNull();
    expect(
      planSnapshot({ fstype: 'btrfs', source: '/dev/sdb', target: '/' }, '/opt/zimbra/store', NAME),
    ).toBeNull();
    expect(() =>
      planSnapshot({ fstype: 'ext4', source: '/dev/sda1', target: '/' }, '/x', 'snap; rm -rf /'),
    ).toThrow(/not a snapshot name of ours/);
  });

  it('parses the detection output, findmnt escapes included', () => {
    expect(
      parseDetect(
        'btrfs\n/dev/loop0[/store]\n/mnt/my\\x20disk\n/mnt/my disk\nleftover /mnt/my disk/.mailvault-blobs-x\n',
      ),
    ).toEqual({
      info: {
        fstype: 'btrfs',
        source: '/dev/loop0[/store]',
        target: '/mnt/my disk',
        subvolume: '/mnt/my disk',
      },
      leftovers: ['/mnt/my disk/.mailvault-blobs-x'],
    });
    expect(parseDetect('ext4\n/dev/mapper/vg0-zimbra\n/opt/zimbra\nvg0/zimbra\n').info?.lv).toBe(
      'vg0/zimbra',
    );
    expect(parseDetect('').info).toBeNull();
  });

  it('the detection script runs on this machine and names its file system', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-detect-'));
    try {
      const out = execFileSync('sh', ['-c', DETECT_SCRIPT, 'sh', dir, 'blobs']).toString();
      const fstype = execFileSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir]).toString().trim();
      expect(parseDetect(out).info?.fstype).toBe(fstype);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
