import { Then } from '@cucumber/cucumber';
import { fail } from '../src/errors.js';
import { eventually } from '../src/eventually.js';
import { linesInOrder } from '../src/check/lines.js';
import { namesService, pingErrors, pingRuns } from '../src/check/ping.js';
import { serviceAddresses } from '../src/kube/endpoints.js';
import { podLogs } from '../src/kube/pods.js';
import { steps } from './i18n.js';
import type { KgradeWorld } from './world.js';

const lastLines = (log: string) => (log.trim() ? log.trim().split('\n').slice(-6).join(' | ') : 'an empty log');

steps(
  Then,
  [
    'the log of pod {string} eventually has lines containing {string} in this order, ignoring case',
    '파드 {string}의 로그에 곧 {string}을\\(를) 담은 줄들이 대소문자 구분 없이 이 순서로 나온다',
  ],
  async function (this: KgradeWorld, name: string, list: string) {
    const ns = await this.namespace();
    const wanted = this.expand(list)
      .split('|')
      .map((w) => w.trim())
      .filter(Boolean);
    const found = await eventually(
      async () => {
        const log = await podLogs(this.admin(), ns.name, name);
        this.last = { what: `the log of pod ${name}`, code: 0, stdout: log, stderr: '', timedOut: false };
        const r = linesInOrder(log, wanted);
        const missing = wanted[r.found];
        const seen =
          missing === undefined
            ? ''
            : `${r.found ? `found ${r.matched.map((m) => `"${m}"`).join(', then ')}, but ` : ''}no line with "${missing}"${r.found ? ' after it' : ''}; the log ends: ${lastLines(log)}`;
        return { ok: missing === undefined, value: r.matched, seen };
      },
      {
        what: `the log of pod ${name} to have lines with ${wanted.map((w) => `"${w}"`).join(', ')} in this order`,
        timeoutMs: this.timeouts.wait * 1000,
        intervalMs: 1000,
      },
    );
    this.note(`pod ${name}: ${found.map((l) => `"${l}"`).join(' … ')}`);
  },
);

steps(
  Then,
  [
    'the log of pod {string} eventually shows {int} packets transmitted to {string} and {int} received',
    '파드 {string}의 로그에 곧 패킷 {int}개를 {string}에 보내고 {int}개를 받았다고 나온다',
  ],
  async function (this: KgradeWorld, name: string, sent: number, target: string, received: number) {
    const ns = await this.namespace();
    const service = this.expand(target);
    const addresses = await serviceAddresses(this.admin(), ns.name, service);
    const probe = async () => {
      const log = await podLogs(this.admin(), ns.name, name);
      this.last = { what: `the log of pod ${name}`, code: 0, stdout: log, stderr: '', timedOut: false };
      const runs = pingRuns(log);
      const mine = runs.filter((r) => namesService(r.target, service, ns.name, addresses));
      const good = mine.find((r) => r.transmitted === sent && r.received === received);
      const others = runs.filter((r) => !mine.includes(r));
      const seen = [
        ...mine.map((r) => `to ${r.target}: ${r.transmitted} transmitted, ${r.received} received`),
        ...others.map((r) => `to ${r.target} (not ${service}): ${r.transmitted} transmitted, ${r.received} received`),
        ...pingErrors(log),
      ];
      // ping's own lines; a last line that is none of them means the script has moved on past its pings
      const pingLine = /^PING |bytes from|packets transmitted|round-trip|^ping:|bad address|^---/;
      const last = log.trimEnd().split('\n').at(-1) ?? '';
      const movedOn =
        (others.length > 0 || pingErrors(log).length > 0) && last.trim() !== '' && !pingLine.test(last.trim());
      return {
        good,
        settled: mine.length > 0 || movedOn,
        seen: seen.length ? seen.join('; ') : `no ping statistics; the log ends: ${lastLines(log)}`,
      };
    };
    // A statistics block is ping's last word: once one names the target, or the script has gone past
    // its pings to other targets or failed ones, waiting longer changes nothing.
    const run = await eventually(
      async () => {
        const p = await probe();
        if (!p.good && p.settled)
          fail(
            `expected pod ${name} to ping ${service} ${sent} times with ${received} answers; its log shows ${p.seen}`,
          );
        return { ok: p.good !== undefined, value: p.good, seen: p.seen };
      },
      {
        what: `the log of pod ${name} to show ${sent} packets transmitted to ${service} and ${received} received`,
        timeoutMs: this.timeouts.wait * 1000,
        intervalMs: 1000,
      },
    );
    this.note(
      `pod ${name} pinged ${run?.target ?? service}${addresses.length ? ` (${service} is ${addresses.join(', ')})` : ''}: ${run?.transmitted} transmitted, ${run?.received} received`,
    );
  },
);
