import { renderOfflineFrame } from "./offline-frame.ts";

/** While the camera is offline, calls get the offline picture at this interval. */
const OFFLINE_FRAME_INTERVAL_MS = 500;

type Frame = { width: number; height: number; data: Uint8Array };

/**
 * The "camera offline" picture a camera's calls see while it is away: rendered once per size (ffmpeg
 * drawtext), then repeated every half second into the camera's video source until stopped.
 */
export class OfflinePicture {
  private timer: NodeJS.Timeout | undefined;
  private frame: Frame | undefined;

  constructor(
    private readonly ffmpegPath: string,
    private readonly onFrame: (frame: Frame) => void,
  ) {}

  start(width: number, height: number): void {
    if (this.timer !== undefined) return;
    const send = (): void => {
      if (this.frame) this.onFrame(this.frame);
    };
    this.timer = setInterval(send, OFFLINE_FRAME_INTERVAL_MS);
    if (this.frame?.width !== width || this.frame.height !== height) {
      void renderOfflineFrame(this.ffmpegPath, width, height).then((data) => {
        this.frame = { width, height, data };
        if (this.timer !== undefined) send();
      });
    } else {
      send();
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
