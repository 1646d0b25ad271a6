/* SwiftPM system library: libwebsockets (Debian libwebsockets-dev 4.1, built with OpenSSL)
 * and the OpenSSL certificate checks tandem-device makes itself. Flags come from
 * `pkg-config libwebsockets`; libcrypto is linked by the target's linkerSettings. */
#ifndef TANDEM_CLIBWEBSOCKETS_SHIM_H
#define TANDEM_CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>
#include <openssl/x509v3.h>

#endif
