/* SwiftPM system library: cJSON (Debian libcjson-dev); flags from `pkg-config libcjson`. */
#ifndef TANDEM_CCJSON_SHIM_H
#define TANDEM_CCJSON_SHIM_H

#include <cjson/cJSON.h>

#endif
