/* The age of this process (launch_to_* timings of run and pin-check). */
#ifndef DAXVM_CLI_PROCESS_AGE_H
#define DAXVM_CLI_PROCESS_AGE_H

/* ms since the kernel started this process (CLOCK_BOOTTIME minus /proc/self/stat
 * starttime; good to about one clock tick); 0.0 when /proc cannot be read. */
double process_age_ms(void);

#endif
