/**
 * Every phase, in the order a run takes them. A new phase (e.g. a front-end latency comparison) is one file in this
 * folder exporting a Phase, listed here; `--only <name>` runs it alone.
 */
import { audioPhase } from "./audio.ts";
import { doorbellPhase } from "./doorbell.ts";
import { driftPhase } from "./drift.ts";
import { floorsPhase } from "./floors.ts";
import { latencyPhase } from "./latency.ts";
import { matrixRtcPhase } from "./matrixrtc.ts";
import { overloadPhase } from "./overload.ts";
import type { Phase } from "./phase.ts";
import { referencePhase } from "./reference.ts";
import { series1080Phase, series720Phase } from "./series.ts";
import { talkbackPhase } from "./talkback.ts";
import { ttffPhase } from "./ttff.ts";

export const PHASES: readonly Phase[] = [
  ttffPhase,
  doorbellPhase,
  latencyPhase,
  audioPhase,
  series720Phase,
  series1080Phase,
  overloadPhase,
  referencePhase,
  floorsPhase,
  talkbackPhase,
  matrixRtcPhase,
  driftPhase,
];
