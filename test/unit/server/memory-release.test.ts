/**
 * When the server gives memory back (src/server/memory-release.ts): once after a burst of connections and
 * channels has subsided, when it has fallen idle having grown, and never under steady ordinary load. The
 * load and the RSS are the test's own, so each case is decided by the rules alone; the collection itself
 * runs for real, and must leave live objects alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRelease } from '../../../src/server/memory-release.ts';

const MiB = 1024 * 1024;

function harness(rss = 100 * MiB) {
  const state = { load: 0, rss, now: 0, releases: [] as Array<{ peak: number; load: number }> };
  const release = new MemoryRelease({
    load: () => state.load,
    rss: () => state.rss,
    now: () => state.now,
    released: (peak, load) => state.releases.push({ peak, load }),
  });
  const at = (load: number) => {
    state.load = load;
    release.sample();
  };
  return { state, release, at };
}

describe('memory release after bursts', () => {
  it('releases once when a burst of channels has fallen to a quarter of its peak, and keeps live objects', () => {
    const { state, release, at } = harness();
    const live = { kept: Buffer.from('still here') };
    try {
      for (const load of [3, 120, 600, 450, 200, 151]) at(load);
      assert.deepEqual(state.releases, [], 'nothing while the load is above a quarter of the peak');
      at(140);
      assert.deepEqual(state.releases, [{ peak: 600, load: 140 }]);
      at(20);
      at(0);
      assert.equal(state.releases.length, 1, 'the peak restarts from the load at the release, and a second passes before the next');
      assert.equal(live.kept.toString(), 'still here');
    } finally {
      release.stop();
    }
  });

  it('once no connection is left, collects what the last quarter of the burst still held at the first release', () => {
    const { state, release, at } = harness();
    try {
      for (const load of [600, 140]) at(load);
      assert.deepEqual(state.releases, [{ peak: 600, load: 140 }]);
      state.now += 1500;
      at(50);
      assert.equal(state.releases.length, 1, 'not while connections are still open');
      at(0);
      assert.deepEqual(state.releases[1], { peak: 140, load: 0 }, 'a second after the first, not five');
      state.now += 6000;
      at(0);
      assert.equal(state.releases.length, 2, 'and only once: the release at load 0 leaves nothing to come back for');
    } finally {
      release.stop();
    }
  });

  it('after a connection closes, decides a moment later, outside the close', async () => {
    const { state, release } = harness();
    try {
      state.load = 600;
      release.connectionClosed();
      state.load = 0;
      release.connectionClosed();
      assert.deepEqual(state.releases, [], 'nothing collected inside the close');
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.deepEqual(state.releases, [{ peak: 600, load: 0 }], 'the peak seen at the close, the release after it');
    } finally {
      release.stop();
    }
  });

  it('never under steady ordinary load, nor after a drop too small to be a burst', () => {
    const { state, release, at } = harness();
    try {
      for (let i = 0; i < 50; i++) at(40 + (i % 7));
      at(2);
      state.rss += 50 * MiB;
      at(1);
      assert.deepEqual(state.releases, []);
    } finally {
      release.stop();
    }
  });

  it('releases when no connection is left and the process has grown past its settled size, once per growth', () => {
    const { state, release, at } = harness(100 * MiB);
    try {
      at(0);
      state.rss = 106 * MiB;
      at(0);
      assert.deepEqual(state.releases, [], '6% is within the allowance (5% + 4 MiB)');
      state.rss = 130 * MiB;
      at(1);
      assert.deepEqual(state.releases, [], 'not while a connection is open');
      at(0);
      assert.deepEqual(state.releases, [{ peak: 1, load: 0 }]);
      // The size after the release is the new settled size: the same size again is no growth.
      at(0);
      assert.equal(state.releases.length, 1);
    } finally {
      release.stop();
    }
  });
});
