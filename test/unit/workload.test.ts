/**
 * The readers behind the workload steps, on made-up objects: selectors,
 * answers from inside the cluster, where an environment variable comes from,
 * which volume a path is, and a pod's body for creating it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as k8s from '../../src/vendor/kubernetes-client.js';
import { answered, expectedHostname, namesIn, parseAnswers, requestScript } from '../../src/kube/http-answers.js';
import { envVerdict, logShows, type EnvSource } from '../../src/kube/pod-env.js';
import { claimMountProblem } from '../../src/kube/pod-storage.js';
import { matchesSelector, respawnBody, selectorText } from '../../src/kube/workload.js';

test('selectorText: an RC map and a Deployment LabelSelector with expressions', () => {
  assert.equal(selectorText({ app: 'kubia' }), 'app=kubia');
  assert.equal(
    selectorText({
      matchLabels: { app: 'kubia', tier: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['a', 'b'] },
        { key: 'old', operator: 'DoesNotExist' },
      ],
    }),
    'app=kubia,tier=web,env in (a,b),!old',
  );
  assert.equal(selectorText(undefined), '');
});

test('matchesSelector: every pair must match, and an empty selector matches nothing', () => {
  assert.ok(matchesSelector({ app: 'kubia' }, { app: 'kubia', x: 'y' }));
  assert.ok(!matchesSelector({ app: 'kubia-http' }, { app: 'kubia' }));
  assert.ok(!matchesSelector({}, { app: 'kubia' }));
});

test('parseAnswers reads each request back, with its body and error, in order', () => {
  const urls = ['http://a/', 'http://b/', 'http://c/'];
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const out = [
    `@@kgrade 1 1  ${b64("wget: can't connect to remote host: Connection refused")}`,
    `@@kgrade 0 0 ${b64("You've hit kubia-abc\n")} `,
    'noise',
  ].join('\n');
  const got = parseAnswers(urls, out);
  assert.equal(got[0]?.body, "You've hit kubia-abc\n");
  assert.ok(got[0] && answered(got[0]));
  assert.equal(got[1]?.code, 1);
  assert.match(got[1]?.error ?? '', /Connection refused/);
  assert.ok(got[1] && !answered(got[1]));
  assert.equal(got[2]?.code, -1);
  assert.match(requestScript(urls), /timeout 5 wget/);
});

test('namesIn finds whole pod names only', () => {
  assert.deepEqual(namesIn("You've hit kubia-abc.", ['kubia-abc', 'kubia-ab', 'kubia-abcd']), ['kubia-abc']);
  assert.deepEqual(namesIn('Hello from $(hostname)', ['kubia-abc']), []);
  assert.deepEqual(namesIn('kubia-abc', ['kubia-abc']), ['kubia-abc']);
});

test('expectedHostname: spec.hostname, else the name cut to 63 characters', () => {
  assert.equal(expectedHostname({ metadata: { name: 'kubia-x' } }), 'kubia-x');
  assert.equal(expectedHostname({ metadata: { name: 'p' }, spec: { hostname: 'h', containers: [] } }), 'h');
  const long = `${'a'.repeat(62)}-bcd`;
  assert.equal(expectedHostname({ metadata: { name: long } }), 'a'.repeat(62));
});

const profile: EnvSource = { kind: 'ConfigMap', name: 'app-config', key: 'profile' };
const password: EnvSource = { kind: 'Secret', name: 'app-secret', key: 'password' };

function pod(container: Partial<k8s.V1Container>): k8s.V1Pod {
  return { metadata: { name: 'env-demo' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', ...container }] } };
}

test('envVerdict: valueFrom naming the object and the key', () => {
  const p = pod({
    env: [
      { name: 'SPRING_PROFILES_ACTIVE', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'profile' } } },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
    ],
  });
  assert.ok(envVerdict(p, 'SPRING_PROFILES_ACTIVE', profile).ok);
  assert.ok(envVerdict(p, 'DB_PASSWORD', password).ok);
  // the right name from the wrong kind of object
  assert.ok(!envVerdict(p, 'DB_PASSWORD', { ...password, kind: 'ConfigMap' }).ok);
});

test('envVerdict: a value written into the manifest is a copy, even the right one', () => {
  const v = envVerdict(
    pod({ env: [{ name: 'SPRING_PROFILES_ACTIVE', value: 'production' }] }),
    'SPRING_PROFILES_ACTIVE',
    profile,
  );
  assert.ok(!v.ok);
  assert.match(v.ok ? '' : v.why, /written into the manifest \("production"\)/);
});

test('envVerdict: another key or no source at all', () => {
  const wrongKey = envVerdict(
    pod({
      env: [
        { name: 'SPRING_PROFILES_ACTIVE', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'profiles' } } },
      ],
    }),
    'SPRING_PROFILES_ACTIVE',
    profile,
  );
  assert.ok(!wrongKey.ok);
  assert.match(wrongKey.ok ? '' : wrongKey.why, /key "profiles"/);
  assert.ok(!envVerdict(pod({}), 'SPRING_PROFILES_ACTIVE', profile).ok);
});

test('envVerdict: envFrom, passed on by the command or by $(VAR) in env', () => {
  const byCommand = pod({ envFrom: [{ configMapRef: { name: 'app-config' } }, { secretRef: { name: 'app-secret' } }] });
  assert.ok(envVerdict(byCommand, 'SPRING_PROFILES_ACTIVE', profile).ok);
  assert.ok(envVerdict(byCommand, 'DB_PASSWORD', password).ok);
  const byRef = pod({
    envFrom: [{ configMapRef: { name: 'app-config' } }],
    env: [{ name: 'SPRING_PROFILES_ACTIVE', value: '$(profile)' }],
  });
  assert.ok(envVerdict(byRef, 'SPRING_PROFILES_ACTIVE', profile).ok);
  // envFrom of the ConfigMap, but the variable itself written out: a copy
  const copied = pod({
    envFrom: [{ configMapRef: { name: 'app-config' } }],
    env: [{ name: 'SPRING_PROFILES_ACTIVE', value: 'production' }],
  });
  assert.ok(!envVerdict(copied, 'SPRING_PROFILES_ACTIVE', profile).ok);
});

test('logShows: env, printenv and a few other spellings; not a prefix of another value', () => {
  assert.ok(logShows('PATH=/bin\nSPRING_PROFILES_ACTIVE=profile-1a2b\n', 'SPRING_PROFILES_ACTIVE', 'profile-1a2b'));
  assert.ok(logShows('SPRING_PROFILES_ACTIVE: "profile-1a2b"', 'SPRING_PROFILES_ACTIVE', 'profile-1a2b'));
  assert.ok(!logShows('SPRING_PROFILES_ACTIVE=production', 'SPRING_PROFILES_ACTIVE', 'profile-1a2b'));
  assert.ok(!logShows('SPRING_PROFILES_ACTIVE=profile-1a2b3', 'SPRING_PROFILES_ACTIVE', 'profile-1a2b'));
  assert.ok(!logShows('profile=profile-1a2b', 'SPRING_PROFILES_ACTIVE', 'profile-1a2b'));
});

test('claimMountProblem: the claim at the path, or what is there instead', () => {
  const base = (volume: k8s.V1Volume, mountPath = '/data'): k8s.V1Pod => ({
    metadata: { name: 'writer' },
    spec: { containers: [{ name: 'w', volumeMounts: [{ name: 'v', mountPath }] }], volumes: [volume] },
  });
  assert.equal(
    claimMountProblem(base({ name: 'v', persistentVolumeClaim: { claimName: 'data' } }), 'data', '/data'),
    undefined,
  );
  assert.equal(
    claimMountProblem(base({ name: 'v', persistentVolumeClaim: { claimName: 'data' } }, '/data/'), 'data', '/data'),
    undefined,
  );
  assert.match(claimMountProblem(base({ name: 'v', emptyDir: {} }), 'data', '/data') ?? '', /an emptyDir volume/);
  assert.match(
    claimMountProblem(base({ name: 'v', persistentVolumeClaim: { claimName: 'other' } }), 'data', '/data') ?? '',
    /PersistentVolumeClaim other/,
  );
  assert.match(
    claimMountProblem(base({ name: 'v', persistentVolumeClaim: { claimName: 'data' } }, '/mnt'), 'data', '/data') ?? '',
    /mounts anything at \/data/,
  );
});

test('respawnBody drops the node and the service account token the cluster added', () => {
  const live: k8s.V1Pod = {
    metadata: { name: 'scratch', uid: 'u1', resourceVersion: '9', labels: { a: 'b' } },
    spec: {
      nodeName: 'n1',
      containers: [
        {
          name: 'c',
          image: 'busybox',
          volumeMounts: [
            { name: 'kube-api-access-x1', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
            { name: 'keep', mountPath: '/k' },
          ],
        },
      ],
      volumes: [
        { name: 'kube-api-access-x1', projected: { sources: [] } },
        { name: 'keep', emptyDir: {} },
      ],
    },
    status: { phase: 'Running' },
  };
  const body = respawnBody(live);
  assert.equal(body.spec?.nodeName, undefined);
  assert.deepEqual(
    body.spec?.volumes?.map((v) => v.name),
    ['keep'],
  );
  assert.deepEqual(
    body.spec?.containers[0]?.volumeMounts?.map((m) => m.name),
    ['keep'],
  );
  assert.equal(body.metadata?.uid, undefined);
  assert.equal(body.status, undefined);
  assert.deepEqual(body.metadata?.labels, { a: 'b' });
});
