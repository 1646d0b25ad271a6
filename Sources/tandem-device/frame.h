/*
 * Binary media frames (protocol/README.md §4): a header of at least 24 bytes, all
 * integers big-endian, followed by the codec payload.
 */
#ifndef TANDEM_DEVICE_FRAME_H
#define TANDEM_DEVICE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_VERSION 1
#define FRAME_HEADER_SIZE 24
#define FRAME_KIND_MEDIA 1
#define FRAME_FLAG_KEYFRAME 0x01

enum frame_codec {
    FRAME_CODEC_JPEG = 1,
    FRAME_CODEC_PNG = 2,
    FRAME_CODEC_WEBP = 3,
    FRAME_CODEC_H264 = 4,
    FRAME_CODEC_VP8 = 5,
    FRAME_CODEC_VP9 = 6,
    FRAME_CODEC_AV1 = 7,
    FRAME_CODEC_OPUS = 8,
};

/* The decoding errors of §4, in the order the checks run. */
enum frame_error {
    FRAME_OK = 0,
    FRAME_TRUNCATED,               /* truncated-frame */
    FRAME_PAYLOAD_LENGTH_MISMATCH, /* payload-length-mismatch */
    FRAME_UNSUPPORTED_VERSION,     /* unsupported-frame-version */
    FRAME_BAD_HEADER_LENGTH,       /* bad-header-length */
    FRAME_UNKNOWN_KIND,            /* unknown-frame-kind */
    FRAME_UNKNOWN_CODEC,           /* unknown-codec */
};

struct frame_header {
    uint8_t header_length; /* as read; 24 when encoding */
    uint8_t flags;         /* only FRAME_FLAG_KEYFRAME is kept: reserved bits are ignored */
    uint8_t codec;         /* enum frame_codec */
    uint16_t stream_id;
    uint32_t sequence;
    uint64_t capture_micros;
    uint32_t payload_length;
};

/* The error identifier of §4/§8 ("truncated-frame", …), or "ok". */
const char *frame_error_id(enum frame_error error);

/* The codec name of §4.1 ("jpeg", …), or NULL for a byte v1 does not define. */
const char *frame_codec_name(unsigned codec);

/* The codec byte of a §4.1 name, or 0 when it is not one. */
unsigned frame_codec_from_name(const char *name);

/*
 * Decodes the header of a binary message of `message_length` bytes, of which the first
 * `available` are in `bytes` (available <= message_length; a receiver may keep only the
 * first bytes of a large message). Checks run in the order of the reference decoder:
 * version, header length, (enough bytes for the header), kind, codec, then the payload
 * length against the message length.
 */
enum frame_error frame_decode_header(const uint8_t *bytes, size_t available, size_t message_length,
                                     struct frame_header *out);

/* Decodes a whole binary message; on success *payload points into `message`. */
enum frame_error frame_decode(const uint8_t *message, size_t length, struct frame_header *out,
                              const uint8_t **payload);

/* Writes the canonical 24-byte header (header length 24, reserved bits 0). */
void frame_encode_header(const struct frame_header *header, uint8_t out[FRAME_HEADER_SIZE]);

#endif
