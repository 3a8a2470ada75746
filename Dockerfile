# syntax=docker/dockerfile:1
# matrix-camera-call: build the TypeScript, then run it on a slim Node image with Debian's ffmpeg and GStreamer.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# The bot's preload (native/zero-pages.c: libvpx's unused token buffer pages left unallocated, ~15 MB a 720p call;
# freed heap memory given back every 10 s): built here, where a compiler may be, and copied alone into the runtime image.
# The lean ffmpeg that reads rtsp:// cameras (scripts/lean-ffmpeg.sh: FFmpeg 5.1.9 with its own decoders only, ~45 MB
# less per camera than Debian's ffmpeg or GStreamer): built here too, its one binary copied.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make nasm curl xz-utils \
    && rm -rf /var/lib/apt/lists/*
COPY native/zero-pages.c ./native/
COPY scripts/zero-pages.sh scripts/lean-ffmpeg.sh ./scripts/
RUN test -n "$(sh scripts/zero-pages.sh)"
RUN test -n "$(bash scripts/lean-ffmpeg.sh)"

FROM node:24-bookworm-slim AS runtime
# The lean ffmpeg reads rtsp:// cameras; GStreamer those that ask for it (`frontEnd: gstreamer`; src/media/front-end.ts):
# gst-launch-1.0 (tools), rtspsrc and the RTP depayloaders (good), videoconvert/videoscale/videorate/decodebin (base),
# avdec_h264/avdec_h265/avdec_aac (libav). Debian's ffmpeg reads every other camera and makes the offline picture.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
       gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# MALLOC_ARENA_MAX=2: each call's video encoder runs on a new thread, and with glibc's default (up to 8
# malloc arenas per core) each leaves its freed memory in one more arena: RSS climbs by tens of MB over
# the first hundred calls, differently every run. Two arenas keep it near what is in use (docs/reliability.md).
# MALLOC_MMAP_THRESHOLD_=4194304: blocks of 4 MiB and more (the VP8 encoders' token buffers) get their own
# mapping, returned when a call ends; glibc's sliding threshold let them into the heaps, which kept the peak of
# the busiest moment. Video frames (1.4 MB at 720p) stay below it, in the heaps, and MALLOC_TRIM_THRESHOLD_ above
# them, so a frame's memory is reused instead of mapped and faulted in anew 25 times a second (11 % of a core per
# frame copy at 256 KiB). docs/benchmark.md; the same settings as bin/matrix-camera-call.
ENV NODE_ENV=production \
    MCC_CONFIG=/config/config.yaml \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=4194304 \
    MALLOC_TRIM_THRESHOLD_=8388608
COPY package.json package-lock.json ./
# Debian's ffmpeg, never ffmpeg-static: ffmpeg parses what the cameras send, and Debian's gets security updates
# (ffmpeg-static's install script downloads a static build the lock's integrity hash does not cover). The optional
# package is removed, not omitted with --omit=optional, which would also drop wrtc's native binary (an optional
# dependency of @roamhq/wrtc).
RUN npm ci --omit=dev \
    && rm -rf node_modules/ffmpeg-static \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/zero-pages.so ./native/
COPY --from=build /app/native/ffmpeg-lean/ffmpeg ./native/ffmpeg-lean/
# As bin/matrix-camera-call does; ffmpeg and gst-launch never get it (their environment is an allowlist).
ENV LD_PRELOAD=/app/native/zero-pages.so
# The image's unprivileged "node" user (uid 1000) owns the state directory.
RUN mkdir -p /data /config \
    && chown node:node /data
USER node
VOLUME /data
# Webhook, /healthz and /metrics: set http.listen to 0.0.0.0:8080 in the config.
EXPOSE 8080
# The slim image has no curl: Node's fetch asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
