/* Process memory housekeeping. */
#ifndef DP_MEM_H
#define DP_MEM_H

/* Hands memory that was freed back to the operating system. A big import
 * or campaign creation frees tens of megabytes that the allocator would
 * otherwise keep for the life of the process. */
void mem_release(void);

#endif
