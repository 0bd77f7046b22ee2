/*
 * Node-API boilerplate shared by Tether's addons (each binding.gyp puts native/common on the include
 * path). Include it after defining NAPI_VERSION, and ADDON_NAME for the CHECK macro's messages.
 */
#ifndef TETHER_ADDON_H
#define TETHER_ADDON_H

#include <node_api.h>

/* One exported function in a napi_define_properties table. */
#define ADDON_FUNCTION(name, function) { (name), NULL, (function), NULL, NULL, NULL, napi_enumerable, NULL }

/* Defines every function of `table` (an array of ADDON_FUNCTION entries) on `exports`. */
#define DEFINE_FUNCTIONS(env, exports, table) napi_define_properties((env), (exports), sizeof(table) / sizeof((table)[0]), (table))

#ifdef ADDON_NAME
/* A Node-API call that fails throws "<addon>: Node-API call failed: <call>" and returns NULL from the caller. */
#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, NULL, ADDON_NAME ": Node-API call failed: " #call);      \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)
#endif

#endif
