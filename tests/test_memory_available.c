/* base/memory.h's t2_memory_available: /proc/meminfo's MemAvailable (positive, at most the
 * machine's physical memory), T2_MEMORY_AVAILABLE when it is a whole number of bytes, and
 * MemAvailable again when that variable is something else. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/memory.h"
#include "check.h"

int main(void) {
    unsetenv("T2_MEMORY_AVAILABLE");
    int64_t available = t2_memory_available();
    int64_t physical = (int64_t)sysconf(_SC_PHYS_PAGES) * (int64_t)sysconf(_SC_PAGESIZE);
    CHECK(available > 0 && available <= physical,
          "MemAvailable: %lld bytes; expected more than 0 and at most the %lld physical",
          (long long)available, (long long)physical);
    setenv("T2_MEMORY_AVAILABLE", "123456789", 1);
    CHECK(t2_memory_available() == 123456789, "T2_MEMORY_AVAILABLE=123456789: %lld",
          (long long)t2_memory_available());
    const char *not_bytes[] = {"12GB", "-5", "", " 7"};
    for (size_t i = 0; i < sizeof not_bytes / sizeof *not_bytes; i++) {
        setenv("T2_MEMORY_AVAILABLE", not_bytes[i], 1);
        int64_t got = t2_memory_available();
        CHECK(got > 0 && got <= physical && got != 12 && got != 7,
              "T2_MEMORY_AVAILABLE='%s': %lld; expected MemAvailable", not_bytes[i],
              (long long)got);
    }
    unsetenv("T2_MEMORY_AVAILABLE");
    return t2_check_exit_code();
}
