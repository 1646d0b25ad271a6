#include "frame.h"

#include <string.h>

static const char *const codec_names[] = {
    NULL, "jpeg", "png", "webp", "h264", "vp8", "vp9", "av1", "opus",
};

#define CODEC_COUNT (sizeof(codec_names) / sizeof(codec_names[0]))

const char *frame_error_id(enum frame_error error) {
    switch (error) {
    case FRAME_OK: return "ok";
    case FRAME_TRUNCATED: return "truncated-frame";
    case FRAME_PAYLOAD_LENGTH_MISMATCH: return "payload-length-mismatch";
    case FRAME_UNSUPPORTED_VERSION: return "unsupported-frame-version";
    case FRAME_BAD_HEADER_LENGTH: return "bad-header-length";
    case FRAME_UNKNOWN_KIND: return "unknown-frame-kind";
    case FRAME_UNKNOWN_CODEC: return "unknown-codec";
    }
    return "unknown-error";
}

const char *frame_codec_name(unsigned codec) {
    return codec < CODEC_COUNT ? codec_names[codec] : NULL;
}

unsigned frame_codec_from_name(const char *name) {
    if (name == NULL) return 0;
    for (unsigned i = 1; i < CODEC_COUNT; i++)
        if (strcmp(codec_names[i], name) == 0) return i;
    return 0;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

enum frame_error frame_decode_header(const uint8_t *bytes, size_t available, size_t message_length,
                                     struct frame_header *out) {
    if (available > message_length) available = message_length;
    if (available < 1) return FRAME_TRUNCATED;
    if (bytes[0] != FRAME_VERSION) return FRAME_UNSUPPORTED_VERSION;
    if (available < 2) return FRAME_TRUNCATED;
    uint8_t header_length = bytes[1];
    if (header_length < FRAME_HEADER_SIZE) return FRAME_BAD_HEADER_LENGTH;
    /* The fields are in the first 24 bytes; the extra header bytes need only be there. */
    if (message_length < header_length || available < FRAME_HEADER_SIZE) return FRAME_TRUNCATED;
    if (bytes[2] != FRAME_KIND_MEDIA) return FRAME_UNKNOWN_KIND;
    if (frame_codec_name(bytes[4]) == NULL) return FRAME_UNKNOWN_CODEC;
    struct frame_header header = {
        .header_length = header_length,
        .flags = (uint8_t)(bytes[3] & FRAME_FLAG_KEYFRAME),
        .codec = bytes[4],
        .stream_id = be16(bytes + 6),
        .sequence = be32(bytes + 8),
        .capture_micros = be64(bytes + 12),
        .payload_length = be32(bytes + 20),
    };
    /* size_t arithmetic: header_length <= 255 and payload_length < 2^32 cannot overflow
     * a 64-bit size_t; on 32-bit compare without adding. */
    size_t after_header = message_length - header_length;
    if (header.payload_length > after_header) return FRAME_TRUNCATED;
    if (header.payload_length < after_header) return FRAME_PAYLOAD_LENGTH_MISMATCH;
    if (out != NULL) *out = header;
    return FRAME_OK;
}

enum frame_error frame_decode(const uint8_t *message, size_t length, struct frame_header *out,
                              const uint8_t **payload) {
    struct frame_header header;
    enum frame_error error = frame_decode_header(message, length, length, &header);
    if (error != FRAME_OK) return error;
    if (out != NULL) *out = header;
    if (payload != NULL) *payload = message + header.header_length;
    return FRAME_OK;
}

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void frame_encode_header(const struct frame_header *header, uint8_t out[FRAME_HEADER_SIZE]) {
    out[0] = FRAME_VERSION;
    out[1] = FRAME_HEADER_SIZE;
    out[2] = FRAME_KIND_MEDIA;
    out[3] = (uint8_t)(header->flags & FRAME_FLAG_KEYFRAME);
    out[4] = header->codec;
    out[5] = 0;
    put16(out + 6, header->stream_id);
    put32(out + 8, header->sequence);
    put32(out + 12, (uint32_t)(header->capture_micros >> 32));
    put32(out + 16, (uint32_t)header->capture_micros);
    put32(out + 20, header->payload_length);
}
