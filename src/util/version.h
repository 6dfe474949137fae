/* The one place disparo's version is written. */
#ifndef DP_VERSION_H
#define DP_VERSION_H

#define DISPARO_VERSION "0.1.0"

#endif
