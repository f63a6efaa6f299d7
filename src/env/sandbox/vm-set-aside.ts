import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../../config.js';
import type { SetAsideSandbox } from './index.js';

/*
 * VM sandboxes whose removal failed (a qemu that would not end, a cgroup something else still
 * holds): one record each under $KGRADE_STATE/vm-set-aside, so that list() leaves them out and no
 * later reaper trips on them again; `kgrade clean` tries them again and drops the record once
 * the VM is gone.
 */

const dir = () => path.join(stateDir(), 'vm-set-aside');
const recordOf = (name: string) => path.join(dir(), name);

export function setVmAside(name: string, reason: string): string {
  mkdirSync(dir(), { recursive: true });
  writeFileSync(recordOf(name), `${JSON.stringify({ reason, since: new Date().toISOString() })}\n`);
  return recordOf(name);
}

export function vmSetAside(name: string): boolean {
  return existsSync(recordOf(name));
}

export function dropVmSetAside(name: string): void {
  rmSync(recordOf(name), { force: true });
}

export function vmsSetAside(): SetAsideSandbox[] {
  if (!existsSync(dir())) return [];
  return readdirSync(dir()).map((name) => {
    try {
      const record = JSON.parse(readFileSync(recordOf(name), 'utf8')) as { reason?: string; since?: string };
      return { name, reason: String(record.reason), since: String(record.since) };
    } catch {
      return { name, reason: 'unknown (its record is unreadable)', since: '' };
    }
  });
}
