/*
 * tandem-device: a Tandem customer client for devices (protocol/README.md), in C on
 * libwebsockets, OpenSSL and cJSON.
 *
 *   tandem-device join CODE|LINK --ca ca.pem [--server https://HOST:PORT] [--consent yes|no|ask]
 *                 [--source DIR|pattern|/dev/videoN] [--fps F] [--annotations-out FILE|-]
 *                 [--max-frames N]
 */
#define _GNU_SOURCE 1
#include "args.h"
#include "session.h"
#include "source.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *program = "tandem-device";
    struct device *dev = calloc(1, sizeof *dev);
    if (dev == NULL) {
        fprintf(stderr, "Out of memory.\n");
        return EXIT_INTERNAL;
    }
    char err[1024];
    int parsed = args_parse(argc, argv, getenv("TANDEM_SERVER"), getenv("TANDEM_CA"), &dev->opt, err, sizeof err);
    if (parsed != 0) {
        free(dev);
        if (parsed > 0) {
            args_usage(program, true);
            return EXIT_ENDED;
        }
        fprintf(stderr, "%s: %s\n", program, err);
        args_usage(program, false);
        return EXIT_USAGE;
    }
    if (dev->opt.consent == CONSENT_ASK && !isatty(STDIN_FILENO)) {
        fprintf(stderr, "%s: cannot ask for consent: standard input is not a terminal; pass --consent yes or "
                        "--consent no\n",
                program);
        free(dev);
        return EXIT_USAGE;
    }
    if (access(dev->opt.ca, R_OK) != 0) {
        fprintf(stderr, "Cannot read the CA file %s: %s.\n", dev->opt.ca, strerror(errno));
        free(dev);
        return EXIT_CONNECTION;
    }
    /* A peer going away must not kill us with SIGPIPE: writes report EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);

    dev->source = source_open(dev->opt.source, err, sizeof err);
    if (dev->source == NULL) {
        fprintf(stderr, "%s: %s\n", program, err);
        free(dev);
        return EXIT_USAGE;
    }
    dev->notes = stdout;
    if (dev->opt.annotations_out != NULL) {
        if (strcmp(dev->opt.annotations_out, "-") == 0) {
            dev->annotations = stdout;
            dev->notes = stderr; /* standard output carries only JSON lines */
        } else {
            dev->annotations = fopen(dev->opt.annotations_out, "we");
            if (dev->annotations == NULL) {
                fprintf(stderr, "%s: cannot write --annotations-out %s: %s\n", program, dev->opt.annotations_out,
                        strerror(errno));
                source_close(dev->source);
                free(dev);
                return EXIT_USAGE;
            }
        }
    }

    int code = session_run(dev);
    session_cleanup(dev);
    if (dev->annotations != NULL && dev->annotations != stdout) fclose(dev->annotations);
    source_close(dev->source);
    free(dev);
    return code;
}
