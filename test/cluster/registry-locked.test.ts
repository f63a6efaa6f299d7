/**
 * The local registry is read-only to everything but kgrade. A pod on the cluster tries what a
 * hostile Job would (start a blob upload, add a tag, repoint busybox:latest, delete the
 * manifest) against the address pods reach the registry at: each is refused, and the catalog,
 * tags and digests are those kgrade recorded. The same pod against a registry with the old
 * configuration (writable, delete enabled) succeeds at each: the probe sees an open registry.
 * Then the registry is changed through kgrade's own write path, as a bug or a person could:
 * the next warm `cluster up` says so in one line and puts it back.
 * Needs a cluster provisioned by this kgrade (`kgrade cluster up`; KGRADE_CLUSTER names it).
 */
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { execa } from '../../src/vendor/execa.js';
import { KindProvider, pinnedVersion } from '../../src/env/cluster/kind.js';
import {
  readRegistry,
  recordedRegistry,
  registryDifferences,
  registryPorts,
  type RegistryContents,
} from '../../src/env/cluster/registry.js';
import { kindClusterName } from '../../src/config.js';
import { execInPod, waitForPod } from '../../src/kube/pods.js';
import { REPO_ROOT } from '../../src/paths.js';

const CLI = path.join(REPO_ROOT, 'bin/kgrade.js');
const provider = new KindProvider();
const names = provider.registry;
const cluster = kindClusterName();
const ns = `kgrade-test-registry-${process.pid}`;
const open = `kgrade-test-open-registry-${process.pid}`;
const tampered = `kgrade-test/tampered:${process.pid}`;

async function docker(...args: string[]) {
  return execa('docker', args, { reject: false, timeout: 120_000 });
}

async function ipOn(container: string, network: string): Promise<string> {
  const r = await docker(
    'inspect',
    '--format',
    `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
    container,
  );
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+\.\d+$/, `${container} has no IPv4 address on ${network}`);
  return r.stdout.trim();
}

async function served(): Promise<RegistryContents> {
  const { serve } = await registryPorts(names);
  assert.ok(serve, `${names.serve} publishes no loopback port`);
  return readRegistry(serve);
}

/**
 * The hostile Job's requests, raw HTTP through busybox nc to HOST:5000, each answered by its
 * status line: "push", "tag", "retag", "delete".
 */
function probe(host: string): string {
  return `set -u
H=${host}
ACCEPT='application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
req() { printf '%s %s HTTP/1.0\\r\\nHost: %s:5000\\r\\nAccept: %s\\r\\nContent-Type: %s\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "$1" "$2" "$H" "$ACCEPT" "$3" "\${#4}" "$4" | nc -w 5 "$H" 5000; }
status() { req "$@" | head -1 | tr -d '\\r'; }
full=$(req GET /v2/library/busybox/manifests/1.36 none '')
type=$(printf '%s\\n' "$full" | tr -d '\\r' | sed -n 's/^Content-Type: //Ip' | head -1)
digest=$(printf '%s\\n' "$full" | tr -d '\\r' | sed -n 's/^Docker-Content-Digest: //Ip' | head -1)
body=$(printf '%s\\n' "$full" | tr -d '\\r' | sed '1,/^$/d')
echo "read $(printf '%s\\n' "$full" | head -1 | tr -d '\\r') $digest"
echo "push $(status POST /v2/library/busybox/blobs/uploads/ none '')"
echo "tag $(status PUT /v2/library/busybox/manifests/kgrade-heldout-escape "$type" "$body")"
echo "retag $(status PUT /v2/library/busybox/manifests/latest "$type" "$body")"
echo "delete $(status DELETE /v2/library/busybox/manifests/$digest none '')"
`;
}

function answers(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.split(' ')[0] ?? '', l.slice(l.indexOf(' ') + 1)]),
  );
}

let kc: k8s.KubeConfig;

before(async () => {
  const s = await provider.status();
  assert.deepEqual(s.problems, [], `cluster ${cluster} must be up and healthy (kgrade cluster up)`);
  kc = provider.kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'job' },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'box', image: 'busybox:1.36', command: ['sleep', '3600'] }],
      },
    },
  });
  await waitForPod(kc, ns, 'job', { what: 'Running', timeoutMs: 120_000, until: (p) => p.status?.phase === 'Running' });
});

after(async () => {
  await kc
    ?.makeApiClient(k8s.CoreV1Api)
    .deleteNamespace({ name: ns, gracePeriodSeconds: 0 })
    .catch(() => undefined);
  await docker('rm', '-f', '-v', open);
  await docker('rmi', tampered);
});

test('a pod cannot push, tag, retag or delete in the registry; the writer is out of its reach', {
  timeout: 300_000,
}, async (t) => {
  const expected = await recordedRegistry(cluster);
  assert.ok(expected, 'kgrade recorded what it pushed at provision');
  assert.deepEqual(await served(), expected, 'the registry serves what kgrade recorded before the probe');

  const serveIp = await ipOn(names.serve, names.network);
  const r = await execInPod(kc, ns, 'job', 'box', ['sh', '-c', probe(serveIp)], 60_000);
  const got = answers(r.stdout);
  const log = `\n${r.stdout}${r.stderr}`;
  t.diagnostic(r.stdout.trim().replaceAll('\n', ' | '));
  assert.match(got.read ?? '', /^HTTP\/1\.[01] 200 .* sha256:[0-9a-f]{64}$/, `the pod reads the manifest${log}`);
  for (const verb of ['push', 'tag', 'retag', 'delete']) {
    assert.match(got[verb] ?? '', /^HTTP\/1\.[01] 4\d\d /, `${verb} is refused${log}`);
  }
  assert.deepEqual(await served(), expected, 'the catalog, tags and digests are unchanged');

  // The writer, on its own network: a pod's connection to it goes nowhere.
  const writerIp = await ipOn(names.writer, names.writer);
  const w = await execInPod(
    kc,
    ns,
    'job',
    'box',
    ['sh', '-c', `printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${writerIp} 5000; echo "exit $?"`],
    30_000,
  );
  assert.doesNotMatch(w.stdout, /HTTP\/1/, `the writer answered a pod: ${w.stdout}`);
});

test('the same probe against a registry as it was configured before (writable, delete on) succeeds at each write', {
  timeout: 300_000,
}, async () => {
  const image = `kgrade/registry:${pinnedVersion('REGISTRY_VERSION')}`;
  const run = await docker('run', '-d', '--name', open, '--network', names.network, '-p', '127.0.0.1::5000', image);
  assert.equal(run.exitCode, 0, run.stderr);
  const port = (await docker('port', open, '5000/tcp')).stdout.trim().split(':').pop() ?? '';
  let ready = false;
  for (let i = 0; i < 50 && !ready; i++) {
    ready = (await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.ok ?? false;
    if (!ready) await new Promise((res) => setTimeout(res, 200));
  }
  assert.ok(ready, `the open registry on 127.0.0.1:${port} answers`);
  const ref = `127.0.0.1:${port}/library/busybox:1.36`;
  for (const args of [
    ['tag', 'busybox:1.36', ref],
    ['push', '-q', ref],
    ['rmi', ref],
  ]) {
    const p = await docker(...args);
    assert.equal(p.exitCode, 0, `docker ${args.join(' ')}: ${p.stderr}`);
  }
  const r = await execInPod(kc, ns, 'job', 'box', ['sh', '-c', probe(await ipOn(open, names.network))], 60_000);
  const got = answers(r.stdout);
  const log = `\n${r.stdout}${r.stderr}`;
  assert.match(got.push ?? '', /^HTTP\/1\.[01] 202 /, `push accepted${log}`);
  assert.match(got.tag ?? '', /^HTTP\/1\.[01] 201 /, `tag accepted${log}`);
  assert.match(got.retag ?? '', /^HTTP\/1\.[01] 201 /, `retag accepted${log}`);
  assert.match(got.delete ?? '', /^HTTP\/1\.[01] 202 /, `delete accepted${log}`);
});

test("a registry changed behind kgrade's back is restored by the next warm cluster up, which says so", {
  timeout: 600_000,
}, async (t) => {
  const expected = await recordedRegistry(cluster);
  assert.ok(expected, 'kgrade recorded what it pushed at provision');
  const { write } = await registryPorts(names);
  assert.ok(write, `${names.writer} publishes no loopback port`);
  // Another image under busybox:latest, and a repository kgrade never pushed.
  const made = await docker('create', 'busybox:1.36');
  assert.equal(made.exitCode, 0, made.stderr);
  const commit = await docker('commit', '--change', 'LABEL io.kgrade.test=tampered', made.stdout.trim(), tampered);
  await docker('rm', made.stdout.trim());
  assert.equal(commit.exitCode, 0, commit.stderr);
  for (const target of [`127.0.0.1:${write}/library/busybox:latest`, `127.0.0.1:${write}/kgrade-escape/box:1`]) {
    for (const args of [
      ['tag', tampered, target],
      ['push', '-q', target],
      ['rmi', target],
    ]) {
      const p = await docker(...args);
      assert.equal(p.exitCode, 0, `docker ${args.join(' ')}: ${p.stderr}`);
    }
  }
  const diff = registryDifferences(expected, await served());
  assert.ok(
    diff.some((d) => /^library\/busybox:latest is /.test(d)),
    `busybox:latest repointed: ${diff.join('; ')}`,
  );
  assert.ok(diff.includes('repository kgrade-escape/box added'), `a repository added: ${diff.join('; ')}`);

  const up = await execa('node', [CLI, 'cluster', 'up'], { reject: false, timeout: 540_000, env: { NO_COLOR: '1' } });
  const log = `\nstdout:\n${up.stdout}\nstderr:\n${up.stderr}`;
  assert.equal(up.exitCode, 0, log);
  const said = up.stderr.split('\n').filter((l) => /serves what kgrade did not put there/.test(l));
  assert.equal(said.length, 1, `one line says the registry was restored${log}`);
  assert.match(
    said[0] ?? '',
    /library\/busybox:latest is [0-9a-f]{12}, not [0-9a-f]{12}.*repository kgrade-escape\/box added|repository kgrade-escape\/box added.*library\/busybox:latest is/,
    log,
  );
  t.diagnostic(said[0] ?? '');
  assert.deepEqual(await served(), expected, 'the registry serves again exactly what kgrade recorded');

  const again = await execa('node', [CLI, 'cluster', 'up'], {
    reject: false,
    timeout: 300_000,
    env: { NO_COLOR: '1' },
  });
  assert.equal(again.exitCode, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /did not put there/, 'a registry as recorded is left alone');
  assert.match(again.stderr, /reusing healthy cluster .*provisioned/, again.stderr);
});
