/* The list of gateways disparo speaks. Adding one = one file + one line here. */
#include <string.h>

#include "senders/sender.h"

extern const struct sender_vtab sandbox_sender;
extern const struct sender_vtab webhook_sender;
extern const struct sender_vtab evolution_sender;
extern const struct sender_vtab cloudapi_sender;
extern const struct sender_vtab uazapi_sender;

static const struct sender_vtab *const all[] = {&sandbox_sender,  &webhook_sender, &cloudapi_sender,
                                                &uazapi_sender,   &evolution_sender, NULL};

const struct sender_vtab *sender_find(const char *provider)
{
    for (size_t i = 0; all[i]; i++)
        if (strcmp(all[i]->provider, provider) == 0)
            return all[i];
    return NULL;
}

const struct sender_vtab *const *sender_all(void)
{
    return all;
}
