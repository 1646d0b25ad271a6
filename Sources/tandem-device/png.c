#include "png.h"

#include <string.h>

uint32_t png_crc32(uint32_t crc, const uint8_t *data, size_t len) {
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

uint32_t png_adler32(uint32_t adler, const uint8_t *data, size_t len) {
    uint32_t a = adler & 0xFFFF, b = adler >> 16;
    for (size_t i = 0; i < len; i++) {
        a = (a + data[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return b << 16 | a;
}

#define STORED_BLOCK_MAX 65535u
#define MAX_SIDE 16384u

/* The zlib stream: 2 header bytes, stored blocks of 5 bytes + data, 4 bytes Adler-32. */
static size_t zlib_size(size_t raw) {
    size_t blocks = raw == 0 ? 1 : (raw + STORED_BLOCK_MAX - 1) / STORED_BLOCK_MAX;
    return 2 + blocks * 5 + raw + 4;
}

size_t png_encoded_size(unsigned width, unsigned height) {
    if (width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE) return 0;
    size_t raw = ((size_t)width * 3 + 1) * height;
    /* signature, IHDR chunk, IDAT chunk, IEND chunk */
    return 8 + (12 + 13) + (12 + zlib_size(raw)) + 12;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes the length and type of a chunk whose data the caller writes next; returns the
 * position of the type (where its CRC starts). */
static size_t chunk_begin(uint8_t *out, size_t at, const char type[4], uint32_t length) {
    put32(out + at, length);
    memcpy(out + at + 4, type, 4);
    return at + 4;
}

static size_t chunk_end(uint8_t *out, size_t type_at, size_t end) {
    put32(out + end, png_crc32(0, out + type_at, end - type_at));
    return end + 4;
}

size_t png_encode_rgb(const uint8_t *rgb, unsigned width, unsigned height, uint8_t *out, size_t cap) {
    size_t total = png_encoded_size(width, height);
    if (total == 0 || cap < total) return 0;
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    size_t at = 0;
    memcpy(out, signature, 8);
    at = 8;

    size_t type_at = chunk_begin(out, at, "IHDR", 13);
    at = type_at + 4;
    put32(out + at, width);
    put32(out + at + 4, height);
    out[at + 8] = 8;  /* bit depth */
    out[at + 9] = 2;  /* colour type: RGB */
    out[at + 10] = 0; /* deflate */
    out[at + 11] = 0; /* filter method */
    out[at + 12] = 0; /* no interlace */
    at = chunk_end(out, type_at, at + 13);

    size_t row = (size_t)width * 3 + 1, raw = row * height;
    type_at = chunk_begin(out, at, "IDAT", (uint32_t)zlib_size(raw));
    at = type_at + 4;
    out[at++] = 0x78; /* deflate, 32 KiB window */
    out[at++] = 0x01; /* no preset dictionary, fastest; (0x7801 % 31 == 0) */
    /* The raw scanlines (filter byte 0, then the row) go out in stored blocks; a block may
     * end in the middle of a row. */
    uint32_t adler = 1;
    size_t sent = 0, block_left = 0;
    for (unsigned y = 0; y < height; y++) {
        for (size_t x = 0; x < row;) {
            if (block_left == 0) {
                size_t n = raw - sent < STORED_BLOCK_MAX ? raw - sent : STORED_BLOCK_MAX;
                out[at++] = sent + n == raw ? 1 : 0; /* BFINAL, BTYPE 00 */
                out[at++] = (uint8_t)n;
                out[at++] = (uint8_t)(n >> 8);
                out[at++] = (uint8_t)~n;
                out[at++] = (uint8_t)(~n >> 8);
                block_left = n;
            }
            size_t take = row - x < block_left ? row - x : block_left;
            if (x == 0) {
                out[at] = 0; /* filter: none */
                if (take > 1) memcpy(out + at + 1, rgb + (size_t)y * width * 3, take - 1);
            } else {
                memcpy(out + at, rgb + (size_t)y * width * 3 + (x - 1), take);
            }
            adler = png_adler32(adler, out + at, take);
            at += take, x += take, sent += take, block_left -= take;
        }
    }
    put32(out + at, adler);
    at = chunk_end(out, type_at, at + 4);

    type_at = chunk_begin(out, at, "IEND", 0);
    at = chunk_end(out, type_at, type_at + 4);
    return at;
}
