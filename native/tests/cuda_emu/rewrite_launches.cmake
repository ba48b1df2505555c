# CUDA emulator (tests only): copies a .cu file for g++, rewriting each launch
#   kernel<<<grid, block, shmem, stream>>>(args)  ->  kernel / ::emu::config("kernel", grid, block, shmem, stream)(args)
# (emu_device.h defines that operator). Usage: cmake -DIN=file.cu -DOUT=file.cpp -P rewrite_launches.cmake
file(READ "${IN}" text)
string(REGEX REPLACE "([A-Za-z_][A-Za-z0-9_]*(<[^<>;]*>)?)[ \t]*<<<" "\\1 / ::emu::config(\"\\1\", " text "${text}")
string(REPLACE ">>>" ")" text "${text}")
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
