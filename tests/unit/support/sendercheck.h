/* What every sender's unit test checks the same way, whatever the gateway:
 * a config validate() must reject. Failures fail the running test. */
#ifndef DP_TEST_SENDERCHECK_H
#define DP_TEST_SENDERCHECK_H

#include "senders/sender.h"

/* vt->validate rejects the JSON text cfg_text with DP_EINVAL, and e carries
 * that code and a message containing needle. */
void sendercheck_invalid(const struct sender_vtab *vt, const char *cfg_text, const char *needle);

#endif
