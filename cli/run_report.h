/* The human summary of 'daxvm run', from its report. */
#ifndef DAXVM_CLI_RUN_REPORT_H
#define DAXVM_CLI_RUN_REPORT_H

#include <stdio.h>

#include "common/report.h"
#include "vmm/run_config.h"

void run_summary(const struct report *r, const struct run_config *cfg, FILE *out);

#endif
