import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BatchRecord, StoredResult } from '../../src/batch/records.js';
import type { Diagnostics, GradeResult, Outcome, ScenarioResult } from '../../src/grade/model.js';

/*
 * A made-up class of one lab, as kgrade batch would leave it in its output folder: five graded
 * students (one with a Korean id, one whose id needs CSV quoting), an error student with no result
 * (a bad archive), an error student with a partial result (a grader error that survived the
 * retries), and one listed in batch.json but not graded yet. One scenario is named in Korean; one
 * message carries an HTML injection attempt.
 */

const LAB_HASH = 'sha256:5f1c0d9e8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c';

export const LAB = { id: 'lab07-pods', title: 'Pods, probes & limits', chapter: 7 };

interface ScenarioSpec {
  id: string;
  name: string;
  feature: string;
  maxPoints: number;
  hidden?: boolean;
  course?: boolean;
  hint: string;
  steps: string[];
}

const SCENARIOS: ScenarioSpec[] = [
  {
    id: 'features/pod.feature:5',
    name: 'The pod runs busybox',
    feature: 'Pods',
    maxPoints: 2,
    hint: 'The image is busybox:1.36.',
    steps: ['Given the submission\'s "pod.yaml" is applied', 'Then the pod "web" runs the image "busybox:1.36"'],
  },
  {
    id: 'features/pod.feature:14',
    name: '파드가 Running 상태가 된다',
    feature: '파드 상태',
    maxPoints: 3,
    hint: '컨테이너의 command가 바로 끝나지 않는지 확인하세요.',
    steps: ['Given the submission\'s "pod.yaml" is applied', 'Then the pod "web" is Running within 60 seconds'],
  },
  {
    id: 'features/probe.feature:6',
    name: 'The readiness probe gates traffic',
    feature: 'Probes',
    maxPoints: 3,
    hint: 'A readinessProbe that runs "cat /tmp/ready" keeps the pod out of the Service until the file exists.',
    steps: [
      'Given the submission\'s "pod.yaml" is applied',
      'When "/tmp/ready" is removed in the pod "web"',
      'Then the pod "web" is not Ready within 20 seconds',
    ],
  },
  {
    id: 'features/limits.feature:4',
    name: 'The container has a memory limit',
    feature: 'Limits',
    maxPoints: 2,
    hidden: true,
    hint: 'resources.limits.memory on the container.',
    steps: ['Then the pod "web" has a memory limit of 64Mi'],
  },
  {
    id: 'features/course.feature:3',
    name: 'The kubelet runs as a systemd service',
    feature: 'What the course claims',
    maxPoints: 0,
    course: true,
    hint: '',
    steps: ['Then the node of pod "web" runs "systemctl is-active kubelet"'],
  },
];

type Seen = { outcome: Outcome; message?: string; notes?: string[]; attempts?: number; diagnostics?: Diagnostics };

function scenario(spec: ScenarioSpec, seen: Seen, i: number): ScenarioResult {
  const steps = spec.steps.map((text, k) => {
    const last = k === spec.steps.length - 1;
    const status = !last ? 'passed' : seen.outcome === 'skipped' ? 'skipped' : seen.outcome;
    return {
      text,
      status,
      durationMs: last && seen.outcome === 'skipped' ? 0 : 1000 + 250 * k,
      ...(last && seen.message ? { message: seen.message.split('\n')[0] ?? '' } : {}),
    } as ScenarioResult['steps'][number];
  });
  return {
    id: spec.id,
    name: spec.name,
    feature: spec.feature,
    outcome: seen.outcome,
    points: seen.outcome === 'passed' ? spec.maxPoints : 0,
    maxPoints: spec.maxPoints,
    course: spec.course === true,
    hidden: spec.hidden === true,
    message: seen.message ?? '',
    hint: spec.hint,
    notes: seen.notes ?? [],
    attempts: seen.attempts ?? 1,
    durationMs: 4000 + 1500 * i,
    steps,
    ...(seen.diagnostics ? { diagnostics: seen.diagnostics } : {}),
  };
}

const P: Seen = { outcome: 'passed' };

function grade(student: string, seen: [Seen, Seen, Seen, Seen], minute: number): GradeResult {
  const scenarios = SCENARIOS.map((spec, i) =>
    scenario(spec, i < 4 ? (seen[i] ?? P) : { outcome: 'passed', notes: ['kubelet: active (systemd)'] }, i),
  );
  const count = (o: Outcome) => scenarios.filter((s) => s.outcome === o).length;
  const started = Date.UTC(2025, 4, 12, 9, minute, 0);
  const durationMs = scenarios.reduce((s, x) => s + x.durationMs, 0);
  return {
    schemaVersion: 1,
    lab: LAB,
    submission: { name: student, path: `/course/submissions/${student}` },
    score: scenarios.reduce((s, x) => s + x.points, 0),
    maxScore: 10,
    complete: count('error') === 0,
    counts: { passed: count('passed'), failed: count('failed'), error: count('error'), skipped: count('skipped') },
    environment: { provider: 'cluster', image: 'kgrade kind v1.31.0', kernel: '6.1.0-28-amd64' },
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(started + durationMs).toISOString(),
    durationMs,
    scenarios,
  };
}

function stored(student: string, fields: Partial<StoredResult> & { result?: GradeResult }, n: number): StoredResult {
  return {
    schemaVersion: 1,
    student,
    status: 'graded',
    attempts: 1,
    provenance: {
      kgradeVersion: '0.1.0',
      labHash: LAB_HASH,
      environment: 'cluster kind-kgrade v1.31.0 (kgrade/kind-node:v1.31.0)',
      submissionHash: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    },
    ...fields,
  };
}

export const INJECTION = '<script>alert("pwned")</script><img src=x onerror=alert(1)>';

export function fixtureStored(): StoredResult[] {
  return [
    stored('alice', { result: grade('alice', [P, P, P, P], 1) }, 1),
    stored(
      'bob',
      {
        result: grade(
          'bob',
          [
            P,
            P,
            {
              outcome: 'failed',
              message: `the pod "web" stayed Ready for 20s after /tmp/ready was removed\nlast log line: ${INJECTION}`,
              notes: ['probe seen: exec [cat /tmp/ready] every 5s', `the container printed "</pre><h1>owned</h1>"`],
            },
            P,
          ],
          2,
        ),
      },
      2,
    ),
    stored(
      'carol',
      {
        result: grade(
          'carol',
          [
            P,
            {
              outcome: 'failed',
              message:
                '파드 "web"이 60초 안에 Running이 되지 않았습니다\nlast seen: CrashLoopBackOff (exit 0 after 0.1s)',
              diagnostics: {
                events: ['BackOff Pod/web: Back-off restarting failed container web in pod web (5 times)'],
                objects: [
                  {
                    kind: 'Pod',
                    name: 'web',
                    conditions: [
                      'phase Running',
                      'container web: waiting, CrashLoopBackOff: back-off 1m20s, restarted 5 times',
                    ],
                  },
                ],
                logs: [{ pod: 'web', container: 'web', previous: true, lines: `starting\n${INJECTION}` }],
              },
            },
            P,
            { outcome: 'failed', message: 'the container "web" has no memory limit' },
          ],
          3,
        ),
      },
      3,
    ),
    stored(
      'dave',
      {
        status: 'error',
        reason: 'archive dave.zip: entry "../../etc/passwd" points outside the submission; nothing was graded',
        attempts: 1,
      },
      4,
    ),
    stored(
      "erin, o'neil",
      {
        result: grade(
          "erin, o'neil",
          [
            P,
            { outcome: 'failed', message: 'the pod "web" is Pending: 0/1 nodes are available, "insufficient memory"' },
            { outcome: 'failed', message: 'no readinessProbe on the container "web"' },
            { outcome: 'skipped', message: 'an earlier step failed' },
          ],
          4,
        ),
      },
      5,
    ),
    stored(
      'frank',
      {
        status: 'error',
        reason:
          'a grader error survived 3 attempts in "파드가 Running 상태가 된다": the API server did not answer within 30s',
        attempts: 3,
        result: grade(
          'frank',
          [
            P,
            {
              outcome: 'error',
              message: 'the API server did not answer within 30s (GET /api/v1/namespaces/kgrade-s2/pods/web)',
              attempts: 2,
            },
            P,
            P,
          ],
          5,
        ),
      },
      6,
    ),
    stored(
      '김민준',
      { result: grade('김민준', [P, P, { outcome: 'failed', message: 'the pod "web" has no readinessProbe' }, P], 6) },
      7,
    ),
  ];
}

export function fixtureBatch(): BatchRecord {
  return {
    schemaVersion: 1,
    lab: { id: LAB.id, title: LAB.title, hash: LAB_HASH, maxScore: 10 },
    kgradeVersion: '0.1.0',
    students: ['bob', 'alice', 'dave', 'carol', "erin, o'neil", 'frank', '김민준', 'grace'],
    startedAt: '2025-05-12T09:00:00.000Z',
  };
}

/** Writes the fixture class as a batch output folder: dir/batch.json and dir/results/<id>.json. */
export async function writeFixtureClass(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'results'), { recursive: true });
  await writeFile(path.join(dir, 'batch.json'), `${JSON.stringify(fixtureBatch(), null, 2)}\n`, 'utf8');
  for (const s of fixtureStored()) {
    await writeFile(path.join(dir, 'results', `${s.student}.json`), `${JSON.stringify(s, null, 2)}\n`, 'utf8');
  }
}

/** What the charts must show for the fixture class. */
export const EXPECTED = {
  /** Bins 0..10 (a bin per point), and how many graded students are in each. */
  histogram: [0, 0, 1, 0, 0, 1, 0, 2, 0, 0, 1],
  /** Hardest first: scenario id, passed, graded. */
  passRates: [
    ['features/probe.feature:6', 3, 6],
    ['features/pod.feature:14', 3, 5],
    ['features/limits.feature:4', 4, 6],
    ['features/pod.feature:5', 6, 6],
  ] as Array<[string, number, number]>,
  errorStudents: ['dave', 'frank', 'grace'],
};
