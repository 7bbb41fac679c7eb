// A verdict's evidence as the run report writes it: addresses in hex, pages
// as runs of one state, the trace of the judging era's model.
import type { Destroyed, PageRun, Pages, VmaView } from '../judge/evidence.js';
import { modelSnapshot, pageRuns } from '../judge/evidence.js';
import { returnValue } from '../judge/differences.js';
import type { Judged } from '../judge/verdict.js';
import type { EraId, Step } from '../model/types.js';
import type { Observation } from '../observation.js';

export interface VmaJson {
  start: string;
  end: string;
  perms: string;
}
export interface PageRunJson {
  start: string;
  end: string;
  state: string;
}
export interface DestroyedJson {
  what: Destroyed['what'];
  start: string;
  end: string;
  pages: number;
  pieces: string[];
}

export interface Expected {
  era: EraId;
  errno: string | null;
  return: string | null;
  mapCountAfter: number;
  vmas: VmaJson[];
  pages: PageRunJson[];
  destroyed: DestroyedJson[];
  trace: Step[];
}

export interface Observed {
  errno: string | null;
  return: string | null;
  mapCountBefore: number;
  mapCountAfter: number;
  mapCountMethod: Observation['mapCountMethod'];
  vmasBefore: VmaJson[];
  vmasAfter: VmaJson[];
  pagesBefore: PageRunJson[];
  pagesAfter: PageRunJson[];
  destroyed: DestroyedJson[];
}

const hexAddr = (page: number, P: number) => `0x${(BigInt(page) * BigInt(P)).toString(16)}`;

function vmasJson(v: VmaView[], P: number): VmaJson[] {
  return v.map((x) => ({ start: hexAddr(x.start, P), end: hexAddr(x.end, P), perms: x.perms }));
}
function runsJson(pages: Pages, P: number): PageRunJson[] {
  return pageRuns(pages).map((x: PageRun) => ({
    start: hexAddr(x.start, P),
    end: hexAddr(x.end, P),
    state: x.state,
  }));
}
function destroyedJson(d: Destroyed[], P: number): DestroyedJson[] {
  return d.map((x) => ({
    what: x.what,
    start: hexAddr(x.start, P),
    end: hexAddr(x.end, P),
    pages: x.end - x.start,
    pieces: x.pieces,
  }));
}

export function expectedJson(j: Judged): Expected {
  const p = j.run.placement;
  const P = p.pageSize;
  const pred = j.prediction;
  const after = modelSnapshot(pred.state, p.views, j.run.obs.after.pages.keys());
  const value = returnValue(pred.ret, P);
  return {
    era: j.era,
    errno: pred.ret.ok ? null : pred.ret.errno,
    return:
      value === null
        ? null
        : 'raw' in pred.ret
          ? String(pred.ret.raw)
          : 'picked' in pred.ret && pred.ret.picked
            ? 'picked by the kernel'
            : `0x${value.toString(16)}`,
    mapCountAfter: pred.state.mapCount,
    vmas: vmasJson(after.vmas, P),
    pages: runsJson(after.pages, P),
    destroyed: destroyedJson(j.predictedDestroyed, P),
    trace: pred.trace,
  };
}

export function observedJson(j: Judged): Observed {
  const obs = j.run.obs;
  const P = j.run.placement.pageSize;
  return {
    errno: obs.ret.ok ? null : obs.ret.errno,
    return: obs.ret.ok ? `0x${obs.ret.value.toString(16)}` : null,
    mapCountBefore: obs.mapCountBefore,
    mapCountAfter: obs.mapCountAfter,
    mapCountMethod: obs.mapCountMethod,
    vmasBefore: vmasJson(obs.before.vmas, P),
    vmasAfter: vmasJson(obs.after.vmas, P),
    pagesBefore: runsJson(obs.before.pages, P),
    pagesAfter: runsJson(obs.after.pages, P),
    destroyed: destroyedJson(j.destroyed, P),
  };
}
