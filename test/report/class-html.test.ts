import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { readClassResults } from '../../src/report/class/read.js';
import { writeClassReport } from '../../src/report/class/write.js';
import { EXPECTED, writeFixtureClass } from './fixture-class.js';

/*
 * The class report's index.html of the fixture class, opened in headless Chromium (Debian's):
 * the rendered DOM holds both charts with the class's numbers, and the screenshot is a real
 * picture of the page with the charts' colours in it. A copy of the screenshot is kept at
 * reports/class-report-screenshot.png. Chromium is not installed here: .ci/run installs it, and
 * without it every test of this file fails, saying so.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const WIDTH = 1200;
const HEIGHT = 1600;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function requireChromium(): Promise<void> {
  if (await exists(CHROMIUM)) return;
  assert.fail(
    `the class report is rendered with Debian's chromium, and ${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`,
  );
}

/** Headless Chromium that talks to nothing but the file it opens: no first-run, sync, component or background traffic. */
async function chromium(profile: string, args: string[]): Promise<string> {
  await mkdir(profile, { recursive: true });
  const { stdout } = await run(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      `--window-size=${WIDTH},${HEIGHT}`,
      ...args,
    ],
    { timeout: 180_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HOME: profile } },
  );
  return stdout;
}

function section(dom: string, pattern: RegExp, what: string): string {
  return pattern.exec(dom)?.[0] ?? assert.fail(`the rendered page has no ${what}`);
}

/** Pixels whose colour is exactly the given one. */
function countColour(png: PNG, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) n += 1;
  }
  return n;
}

describe('the class report in headless Chromium', { timeout: 10 * 60_000 }, () => {
  let work = '';
  let dom = '';
  let screenshot = '';

  before(async () => {
    await requireChromium();
    work = await mkdtemp(path.join(os.tmpdir(), 'kgrade-class-html-test-'));
    const batch = path.join(work, 'batch');
    await writeFixtureClass(batch);
    const report = path.join(batch, 'report');
    await writeClassReport(await readClassResults(batch), report);
    const url = pathToFileURL(path.join(report, 'index.html')).href;
    screenshot = path.join(work, 'class-report.png');
    await chromium(path.join(work, 'profile-screenshot'), [`--screenshot=${screenshot}`, url]);
    dom = await chromium(path.join(work, 'profile-dom'), ['--dump-dom', url]);
    await mkdir(path.join(ROOT, 'reports'), { recursive: true });
    await copyFile(screenshot, path.join(ROOT, 'reports', 'class-report-screenshot.png'));
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the rendered histogram has a bar per score, each counting the students with it', () => {
    const histogram = section(dom, /<svg class="chart histogram"[\s\S]*?<\/svg>/, 'score histogram');
    const bars = [...histogram.matchAll(/<rect class="bar"[^>]*>/g)].map((m) => m[0]);
    assert.equal(bars.length, EXPECTED.histogram.length);
    assert.deepEqual(
      bars.map((b) => Number(/data-count="(\d+)"/.exec(b)?.[1])),
      EXPECTED.histogram,
    );
    const heights = bars.map((b) => Number(/height="([\d.]+)"/.exec(b)?.[1]));
    EXPECTED.histogram.forEach((count, i) =>
      assert.equal((heights[i] ?? 0) > 0, count > 0, `bar ${i}: height ${heights[i]} for ${count} students`),
    );
  });

  test('the rendered pass-rate chart has a bar per graded scenario, hardest first', () => {
    const chart = section(dom, /<svg class="chart pass-rate"[\s\S]*?<\/svg>/, 'pass-rate chart');
    assert.equal([...chart.matchAll(/<rect class="bar"/g)].length, EXPECTED.passRates.length);
    assert.deepEqual(
      [
        ...chart.matchAll(/<g class="row" data-scenario="([^"]+)">[\s\S]*?data-passed="(\d+)" data-graded="(\d+)"/g),
      ].map((m) => [m[1], Number(m[2]), Number(m[3])]),
      EXPECTED.passRates,
    );
    assert.match(chart, /파드가 Running 상태가 된다/);
  });

  test('the error students are listed with their reasons; the injection attempt stayed text', () => {
    const errors = section(dom, /<section id="errors">[\s\S]*?<\/section>/, 'list of students without a final grade');
    assert.deepEqual(
      [...errors.matchAll(/<li data-student="([^"]+)"/g)].map((m) => m[1]),
      EXPECTED.errorStudents,
    );
    assert.doesNotMatch(dom, /<script|<img|<iframe/i, 'nothing a student wrote became an element');
    assert.equal([...dom.matchAll(/<tr data-student=/g)].length, 8);
  });

  test("the screenshot is a real picture of the page: its size, many colours, the charts' colours", async () => {
    const bytes = await readFile(screenshot);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
    assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [WIDTH, HEIGHT]);
    const png = PNG.sync.read(bytes);
    assert.deepEqual([png.width, png.height], [WIDTH, HEIGHT]);
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4)
      colours.add(((png.data[i] ?? 0) << 16) | ((png.data[i + 1] ?? 0) << 8) | (png.data[i + 2] ?? 0));
    assert.ok(colours.size > 20, `only ${colours.size} colours: the page looks blank`);
    // The histogram's bars (#2e86c1): 5 students, bars 110 or 220 px high and about 75 px wide.
    assert.ok(countColour(png, '#2e86c1') > 30_000, 'the histogram bars are not painted');
    // The pass-rate bars: three below 80% (#d68910), one at 100% (#1e8449), 20 px high.
    assert.ok(countColour(png, '#d68910') > 10_000, 'the amber pass-rate bars are not painted');
    assert.ok(countColour(png, '#1e8449') > 5_000, 'the green pass-rate bar is not painted');
  });
});

/*
 * The class report's additions in Chromium: item analysis (its discrimination chart) and the
 * similar pairs, on the fixture class with kept normalised files for two planted copies; and the
 * Korean scenario name drawn with real glyphs (a CJK font, fonts-wqy-zenhei, is installed for it:
 * see .ci/run), not as empty boxes.
 */
describe("the class report's item analysis, similarity and Korean text in headless Chromium", {
  timeout: 30 * 60_000,
}, () => {
  let work = '';
  let dom = '';
  let screenshot = '';
  let hangul = '';
  let tofu = '';

  before(async () => {
    await requireChromium();
    work = await mkdtemp(path.join(os.tmpdir(), 'kgrade-class-html-extras-test-'));
    const batch = path.join(work, 'batch');
    await writeFixtureClass(batch);
    const { keepSubmission } = await import('../../src/similarity/store.js');
    const planted = path.join(ROOT, 'test', 'fixtures', 'similarity-class');
    await keepSubmission(batch, 'alice', path.join(planted, 'alice'), 'a', new Set());
    await keepSubmission(batch, '김민준', path.join(planted, 'frank'), 'b', new Set());
    await keepSubmission(batch, 'bob', path.join(planted, 'bob'), 'c', new Set());
    const { addClassExtras } = await import('../../src/report/class/extras.js');
    const cls = await readClassResults(batch);
    await addClassExtras(batch, cls);
    const report = path.join(batch, 'report');
    await writeClassReport(cls, report);
    const url = pathToFileURL(path.join(report, 'index.html')).href;
    screenshot = path.join(work, 'class-report-extras.png');
    await chromium(path.join(work, 'profile-screenshot'), [`--screenshot=${screenshot}`, url]);
    dom = await chromium(path.join(work, 'profile-dom'), ['--dump-dom', url]);
    await mkdir(path.join(ROOT, 'reports'), { recursive: true });
    await copyFile(screenshot, path.join(ROOT, 'reports', 'class-report-extras-screenshot.png'));
    // The same Korean text alone on a page, and characters no font has (private use): what tofu looks like.
    const { writeFile } = await import('node:fs/promises');
    const one = (text: string) =>
      `<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;background:#fff}p{font:64px "Noto Sans CJK KR","WenQuanYi Zen Hei",sans-serif;color:#000;margin:0;padding:8px}</style></head><body><p>${text}</p></body></html>`;
    await writeFile(path.join(work, 'hangul.html'), one('파드가 상태가 된다'));
    await writeFile(path.join(work, 'tofu.html'), one('\uE000\uE001\uE002 \uE003\uE004\uE005 \uE006\uE007'));
    hangul = path.join(work, 'hangul.png');
    tofu = path.join(work, 'tofu.png');
    await chromium(path.join(work, 'profile-hangul'), [
      `--screenshot=${hangul}`,
      pathToFileURL(path.join(work, 'hangul.html')).href,
    ]);
    await chromium(path.join(work, 'profile-tofu'), [
      `--screenshot=${tofu}`,
      pathToFileURL(path.join(work, 'tofu.html')).href,
    ]);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the item analysis chart has a bar per scenario; the negative one is drawn left and red, flags are listed', () => {
    const chart = section(dom, /<svg class="chart items"[\s\S]*?<\/svg>/, 'item analysis chart');
    const rows = [
      ...chart.matchAll(/<g class="row" data-scenario="([^"]+)">[\s\S]*?data-discrimination="([^"]*)"/g),
    ].map((m) => [m[1], m[2]]);
    assert.equal(rows.length, EXPECTED.passRates.length);
    assert.ok(
      rows.some(([, d]) => Number(d) < 0),
      'a scenario with negative discrimination',
    );
    const items = section(dom, /<section id="items">[\s\S]*?<\/section>/, 'item analysis section');
    assert.match(items, /data-flags="everyone-passes"/);
    assert.match(items, /data-flags="negative-discrimination"/);
  });

  test('the similar pair is listed with its score and the shared fragments side by side', () => {
    const sim = section(dom, /<section id="similarity">[\s\S]*?<\/section>/, 'similarity section');
    const pairs = [
      ...sim.matchAll(/<details class="pair" data-a="([^"]+)" data-b="([^"]+)" data-similarity="([\d.]+)"/g),
    ].map((m) => [m[1], m[2], Number(m[3])]);
    assert.deepEqual(
      pairs.map((p) => [p[0], p[1]]),
      [['alice', '김민준']],
    );
    assert.ok(Number(pairs[0]?.[2]) >= 0.5);
    assert.ok(
      [
        ...sim.matchAll(
          /<tr><td><span class="muted">lines \d+–\d+<\/span><pre>[^<]+<\/pre><\/td><td><span class="muted">lines \d+–\d+<\/span><pre>[^<]+<\/pre><\/td><\/tr>/g,
        ),
      ].length > 0,
    );
  });

  test('the screenshot shows the discrimination bars (green and red)', async () => {
    const png = PNG.sync.read(await readFile(screenshot));
    // The negative bar: -0.17 is about 35 by 20 px.
    assert.ok(countColour(png, '#c0392b') > 300, 'the red (negative) discrimination bar is not painted');
  });

  test('Korean text renders as glyphs, not as empty boxes (tofu)', async () => {
    const ink = (file: string) =>
      readFile(file).then((b) => {
        const png = PNG.sync.read(b);
        const rows = new Set<string>();
        let dark = 0;
        for (let y = 0; y < 100; y += 1) {
          for (let x = 0; x < png.width; x += 1) {
            const i = (y * png.width + x) * 4;
            if ((png.data[i] ?? 255) < 128) {
              dark += 1;
              rows.add(png.data.subarray(y * png.width * 4, (y + 1) * png.width * 4).toString('base64'));
            }
          }
        }
        return { dark, distinctRows: rows.size };
      });
    const k = await ink(hangul);
    const t = await ink(tofu);
    // Boxes are hollow outlines, the same for every missing character: little ink and few distinct rows.
    assert.ok(
      k.dark > 2 * t.dark,
      `Hangul drew ${k.dark} dark pixels, missing glyphs ${t.dark}: is a CJK font installed (fonts-wqy-zenhei)?`,
    );
    assert.ok(
      k.distinctRows > t.distinctRows,
      `Hangul has ${k.distinctRows} distinct pixel rows, boxes ${t.distinctRows}`,
    );
  });
});
