/* The built-in guest as a flat binary embedded in daxvm, to be copied to GUEST_IMAGE_GPA. */
#ifndef DAXVM_GUEST_GUEST_IMAGE_H
#define DAXVM_GUEST_GUEST_IMAGE_H

#include <stddef.h>

extern const unsigned char guest_image[];
extern const size_t guest_image_size;	/* bytes */

#endif
