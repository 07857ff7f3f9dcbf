/* The pinning stage of a run: the container, the validator around it, and their findings. */
#ifndef DAXVM_VMM_SESSION_PIN_H
#define DAXVM_VMM_SESSION_PIN_H

#include "vmm/session.h"

/* Opens the container for the configured backend, maps every RAM region at iova = gpa
 * through the region visitor, and starts the validator (baseline before, snapshot and
 * sampler after pinning). With PIN_NONE it does nothing. */
int session_pin_setup(struct run_session *s, struct err *e);
/* Stops the validator, unpins everything and runs the release check (findings kept). */
void session_pin_undo(struct run_session *s);
/* pinning.* and validation.* keys, and the validator's finding. After session_pin_undo. */
void session_pin_collect(struct run_session *s, struct report *r);
/* Frees the validator. */
void session_pin_free(struct run_session *s);

/* Pinning's region visitor (pinning/pin.h pin_region_visitor) over a struct guest_mem. */
int session_visit_pin_regions(void *guest_mem, pin_region_fn fn, void *data);

#endif
