/*
 * The little of JPEG the device needs: the picture size from the frame header (SOF)
 * marker, and the standard Huffman tables that MJPEG cameras leave out.
 */
#ifndef TANDEM_DEVICE_JPEG_H
#define TANDEM_DEVICE_JPEG_H

#include <stddef.h>
#include <stdint.h>

enum jpeg_result {
    JPEG_OK = 0,
    JPEG_NOT_JPEG,   /* no SOI marker */
    JPEG_TRUNCATED,  /* the data ends before the SOF marker */
    JPEG_MALFORMED,  /* a bad segment length, a scan before any SOF, a zero size */
};

/* The width and height in the first SOFn marker of the JPEG in data[0..len). */
enum jpeg_result jpeg_dimensions(const uint8_t *data, size_t len, unsigned *width, unsigned *height);

/* Whether the JPEG has a DHT (Huffman table) segment before its first scan. MJPEG from
 * many UVC cameras has none: decoders are expected to use the tables of JPEG Annex K. */
int jpeg_has_huffman_tables(const uint8_t *data, size_t len);

/* Bytes jpeg_insert_huffman_tables adds. */
size_t jpeg_huffman_segment_size(void);

/*
 * When the JPEG in data[0..*len) has no DHT segment before its first scan, inserts one
 * with the standard tables (Annex K.3) right before the SOS marker. `cap` is the size of
 * the buffer at `data`. Returns 0 when the frame is fine as it is or was fixed, -1 when it
 * is malformed or the buffer is too small.
 */
int jpeg_insert_huffman_tables(uint8_t *data, size_t *len, size_t cap);

#endif
