/* Seeded-random driver for the pci_config_fuzz target (gcc build, no libFuzzer): random
 * operation sequences biased to the header and the MSI capability, and a check that the inputs
 * did move and refuse BARs (a driver that never reached a move would check nothing). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/pci_bus.h"
#include "test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern struct pci_bus_counters pci_config_fuzz_total;

int main(int argc, char **argv)
{
	unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	uint64_t state = 0x2545f4914f6cdd1dULL;
	uint8_t buf[6 * 64];

	for (unsigned long n = 0; n < iterations; n++) {
		size_t len = 6 * (1 + n % 64);

		for (size_t i = 0; i < len; i++) {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			buf[i] = (uint8_t)(state >> 24);
			if (i % 6 == 2 && (state & 0x300))
				buf[i] = (uint8_t)(buf[i] % 0x50);
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("pci_config_fuzz: %lu random operation sequences, invariants held (%llu BAR moves carried out, "
	       "%llu refused, %llu config errors)\n", iterations, (unsigned long long)pci_config_fuzz_total.moves,
	       (unsigned long long)pci_config_fuzz_total.refused_moves,
	       (unsigned long long)pci_config_fuzz_total.config_errors);
	TEST_ASSERT(pci_config_fuzz_total.moves > iterations && pci_config_fuzz_total.refused_moves > 0,
		    "the inputs never moved a BAR");
	return T_PASS;
}
