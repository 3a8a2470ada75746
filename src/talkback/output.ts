/** Where a camera's mixed talkback audio goes (the ONVIF backchannel, a command's stdin). */
export interface TalkbackOutput {
  /** What it is, for !status and logs: "onvif PCMU/8000", "exec s16le/8000". */
  readonly describe: string;
  /** One 20 ms frame of 48 kHz mono (the output converts it to what it needs). */
  write(frame: Int16Array): void;
  /** Ends it (the last call of the camera ended). Idempotent. */
  close(): void;
}

export type TalkbackFormat = "s16le" | "pcmu" | "pcma";
