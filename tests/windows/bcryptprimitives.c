/*
 * Test harness only — never shipped. Rust's standard library on Windows imports
 * ProcessPrng from bcryptprimitives.dll (Windows 10 and later); Wine 8 has no such DLL,
 * so every Rust program fails to start under it. This stand-in exports ProcessPrng and
 * fills the buffer from advapi32's SystemFunction036 (RtlGenRandom), which Wine has.
 * scripts/windows-test.sh builds it with mingw-w64 and puts it on WINEPATH.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
