/*
 * Where the device's frames come from (--source):
 *   DIR          a folder of .jpg/.jpeg files, sent in name order, in a loop (codec jpeg);
 *   pattern      a generated moving test pattern, 160x120 (codec png);
 *   /dev/videoN  a V4L2 camera in MJPEG mode (codec jpeg).
 */
#ifndef TANDEM_DEVICE_SOURCE_H
#define TANDEM_DEVICE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest payload a frame may have: the broker's message limit (4 MiB) minus the
 * frame header (protocol/README.md §1, §13). */
#define SOURCE_MAX_PAYLOAD ((size_t)4 * 1024 * 1024 - 24)

struct source;

enum source_result {
    SOURCE_FRAME = 0, /* a frame was written */
    SOURCE_NOTHING,   /* no new frame yet (a camera between frames); try at the next tick */
    SOURCE_FAILED,    /* the source cannot give frames any more; the message says why */
};

/* Opens and checks `spec` without capturing anything yet (a camera is only switched on by
 * source_start, after the customer's consent). NULL with a message in err on failure. */
struct source *source_open(const char *spec, char *err, size_t errlen);

unsigned source_codec(const struct source *source); /* FRAME_CODEC_JPEG or FRAME_CODEC_PNG */
unsigned source_width(const struct source *source);
unsigned source_height(const struct source *source);
/* An upper bound on the payload of source_next. */
size_t source_max_payload(const struct source *source);
/* What the source is, for the terminal ("3 JPEG files from DIR"). */
const char *source_description(const struct source *source);
/* Whether the pictures' quality can be lowered on request (stream.control quality). */
bool source_quality_adjustable(const struct source *source);

/* Starts capturing (a camera: VIDIOC_STREAMON). Idempotent. 0, or -1 with a message. */
int source_start(struct source *source, double fps, char *err, size_t errlen);

/* Writes the next frame's payload to out (cap bytes) and its length to *len. */
enum source_result source_next(struct source *source, uint8_t *out, size_t cap, size_t *len, char *err,
                               size_t errlen);

void source_close(struct source *source);

#endif
