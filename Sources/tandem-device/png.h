/*
 * A minimal PNG encoder for the test pattern: 8-bit RGB, no filtering, and the image data
 * in stored (uncompressed) deflate blocks, so it needs no compression library. The result
 * is a valid PNG any decoder reads; it is just not small.
 */
#ifndef TANDEM_DEVICE_PNG_H
#define TANDEM_DEVICE_PNG_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (ISO-HDLC, as PNG and zlib use it) of data, continuing from `crc` (start with 0). */
uint32_t png_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* Adler-32 of data, continuing from `adler` (start with 1). */
uint32_t png_adler32(uint32_t adler, const uint8_t *data, size_t len);

/* Bytes png_encode_rgb writes for a width x height image (0 when too large). */
size_t png_encoded_size(unsigned width, unsigned height);

/* Encodes `rgb` (width * height * 3 bytes, rows top to bottom) into out (cap bytes).
 * Returns the PNG's length, or 0 when cap is too small or the size is invalid. */
size_t png_encode_rgb(const uint8_t *rgb, unsigned width, unsigned height, uint8_t *out, size_t cap);

#endif
