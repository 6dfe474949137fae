/* The allocator-specific part lives here and nowhere else. */
#include "util/mem.h"

#include <stdlib.h> /* defines __GLIBC__ where it applies */

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void mem_release(void)
{
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}
