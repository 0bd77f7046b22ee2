;; Poly1305 (RFC 8439 §2.5) in WebAssembly, for chacha20-poly1305@openssh.com.
;;
;; Assembled by scripts/assemble-wasm.ts into poly1305-wasm-module.ts (the bytes, base64); a unit test checks
;; that the committed bytes are what this source assembles to. The assembler takes flat text format: one
;; instruction per line, no folded expressions; any WebAssembly toolchain (wabt's wat2wasm) reads it too.
;;
;; Arithmetic modulo p = 2^130 - 5 on five 26-bit limbs in i64, the shape of poly1305-donna's 32-bit code:
;; accumulator limbs stay below 2^27 after adding a block, r limbs below 2^26 and s = 5 * r below 2^29
;; (2^130 ≡ 5 mod p folds the wrapped products), so each product sum is below 5 * 2^56 < 2^64 and exact.
;;
;; Memory (one 64 KiB page is the message window; the caller copies at most WINDOW bytes per call):
;;   0..31   key (r || s), written by the caller before init
;;   32..47  tag, written by finish
;;   48..63  the final partial block, padded by the caller (bytes, 0x01, zeros)
;;   64..    message window
(module
  (memory (export "memory") 2)
  (global $r0 (mut i64) (i64.const 0))
  (global $r1 (mut i64) (i64.const 0))
  (global $r2 (mut i64) (i64.const 0))
  (global $r3 (mut i64) (i64.const 0))
  (global $r4 (mut i64) (i64.const 0))
  (global $h0 (mut i64) (i64.const 0))
  (global $h1 (mut i64) (i64.const 0))
  (global $h2 (mut i64) (i64.const 0))
  (global $h3 (mut i64) (i64.const 0))
  (global $h4 (mut i64) (i64.const 0))

  ;; r = key[0..16] little-endian, clamped (RFC 8439 §2.5.1), cut into 26-bit limbs; h = 0.
  (func $init (export "init")
    i32.const 0
    i64.load32_u offset=0
    i64.const 0x3ffffff
    i64.and
    global.set $r0
    i32.const 0
    i64.load32_u offset=3
    i64.const 2
    i64.shr_u
    i64.const 0x3ffff03
    i64.and
    global.set $r1
    i32.const 0
    i64.load32_u offset=6
    i64.const 4
    i64.shr_u
    i64.const 0x3ffc0ff
    i64.and
    global.set $r2
    i32.const 0
    i64.load32_u offset=9
    i64.const 6
    i64.shr_u
    i64.const 0x3f03fff
    i64.and
    global.set $r3
    i32.const 0
    i64.load32_u offset=12
    i64.const 8
    i64.shr_u
    i64.const 0x00fffff
    i64.and
    global.set $r4
    i64.const 0
    global.set $h0
    i64.const 0
    global.set $h1
    i64.const 0
    global.set $h2
    i64.const 0
    global.set $h3
    i64.const 0
    global.set $h4
  )

  ;; h = (h + block + hibit * 2^128) * r mod p for each 16-byte block of [ptr, ptr + len); len is a multiple
  ;; of 16. hibit is 1 for message blocks and 0 for the caller-padded final partial block.
  (func $blocks (export "blocks") (param $ptr i32) (param $len i32) (param $hibit i32)
    (local $end i32)
    (local $hi i64)
    (local $r0 i64)
    (local $r1 i64)
    (local $r2 i64)
    (local $r3 i64)
    (local $r4 i64)
    (local $s1 i64)
    (local $s2 i64)
    (local $s3 i64)
    (local $s4 i64)
    (local $h0 i64)
    (local $h1 i64)
    (local $h2 i64)
    (local $h3 i64)
    (local $h4 i64)
    (local $d0 i64)
    (local $d1 i64)
    (local $d2 i64)
    (local $d3 i64)
    (local $d4 i64)
    local.get $ptr
    local.get $len
    i32.add
    local.set $end
    ;; 2^128 sits at bit 24 of limb 4.
    local.get $hibit
    i64.extend_i32_u
    i64.const 24
    i64.shl
    local.set $hi
    global.get $r0
    local.set $r0
    global.get $r1
    local.tee $r1
    i64.const 5
    i64.mul
    local.set $s1
    global.get $r2
    local.tee $r2
    i64.const 5
    i64.mul
    local.set $s2
    global.get $r3
    local.tee $r3
    i64.const 5
    i64.mul
    local.set $s3
    global.get $r4
    local.tee $r4
    i64.const 5
    i64.mul
    local.set $s4
    global.get $h0
    local.set $h0
    global.get $h1
    local.set $h1
    global.get $h2
    local.set $h2
    global.get $h3
    local.set $h3
    global.get $h4
    local.set $h4
    block $done
      loop $next
        local.get $ptr
        local.get $end
        i32.ge_u
        br_if $done
        ;; h += block, limb by limb
        local.get $h0
        local.get $ptr
        i64.load32_u offset=0
        i64.const 0x3ffffff
        i64.and
        i64.add
        local.set $h0
        local.get $h1
        local.get $ptr
        i64.load32_u offset=3
        i64.const 2
        i64.shr_u
        i64.const 0x3ffffff
        i64.and
        i64.add
        local.set $h1
        local.get $h2
        local.get $ptr
        i64.load32_u offset=6
        i64.const 4
        i64.shr_u
        i64.const 0x3ffffff
        i64.and
        i64.add
        local.set $h2
        local.get $h3
        local.get $ptr
        i64.load32_u offset=9
        i64.const 6
        i64.shr_u
        i64.const 0x3ffffff
        i64.and
        i64.add
        local.set $h3
        local.get $h4
        local.get $ptr
        i64.load32_u offset=12
        i64.const 8
        i64.shr_u
        local.get $hi
        i64.or
        i64.add
        local.set $h4
        ;; d0 = h0 r0 + h1 s4 + h2 s3 + h3 s2 + h4 s1
        local.get $h0
        local.get $r0
        i64.mul
        local.get $h1
        local.get $s4
        i64.mul
        i64.add
        local.get $h2
        local.get $s3
        i64.mul
        i64.add
        local.get $h3
        local.get $s2
        i64.mul
        i64.add
        local.get $h4
        local.get $s1
        i64.mul
        i64.add
        local.set $d0
        ;; d1 = h0 r1 + h1 r0 + h2 s4 + h3 s3 + h4 s2
        local.get $h0
        local.get $r1
        i64.mul
        local.get $h1
        local.get $r0
        i64.mul
        i64.add
        local.get $h2
        local.get $s4
        i64.mul
        i64.add
        local.get $h3
        local.get $s3
        i64.mul
        i64.add
        local.get $h4
        local.get $s2
        i64.mul
        i64.add
        local.set $d1
        ;; d2 = h0 r2 + h1 r1 + h2 r0 + h3 s4 + h4 s3
        local.get $h0
        local.get $r2
        i64.mul
        local.get $h1
        local.get $r1
        i64.mul
        i64.add
        local.get $h2
        local.get $r0
        i64.mul
        i64.add
        local.get $h3
        local.get $s4
        i64.mul
        i64.add
        local.get $h4
        local.get $s3
        i64.mul
        i64.add
        local.set $d2
        ;; d3 = h0 r3 + h1 r2 + h2 r1 + h3 r0 + h4 s4
        local.get $h0
        local.get $r3
        i64.mul
        local.get $h1
        local.get $r2
        i64.mul
        i64.add
        local.get $h2
        local.get $r1
        i64.mul
        i64.add
        local.get $h3
        local.get $r0
        i64.mul
        i64.add
        local.get $h4
        local.get $s4
        i64.mul
        i64.add
        local.set $d3
        ;; d4 = h0 r4 + h1 r3 + h2 r2 + h3 r1 + h4 r0
        local.get $h0
        local.get $r4
        i64.mul
        local.get $h1
        local.get $r3
        i64.mul
        i64.add
        local.get $h2
        local.get $r2
        i64.mul
        i64.add
        local.get $h3
        local.get $r1
        i64.mul
        i64.add
        local.get $h4
        local.get $r0
        i64.mul
        i64.add
        local.set $d4
        ;; carry: d1 += d0 >> 26, …, h0 += 5 * (d4 >> 26), h1 += h0 >> 26
        local.get $d1
        local.get $d0
        i64.const 26
        i64.shr_u
        i64.add
        local.set $d1
        local.get $d0
        i64.const 0x3ffffff
        i64.and
        local.set $h0
        local.get $d2
        local.get $d1
        i64.const 26
        i64.shr_u
        i64.add
        local.set $d2
        local.get $d1
        i64.const 0x3ffffff
        i64.and
        local.set $h1
        local.get $d3
        local.get $d2
        i64.const 26
        i64.shr_u
        i64.add
        local.set $d3
        local.get $d2
        i64.const 0x3ffffff
        i64.and
        local.set $h2
        local.get $d4
        local.get $d3
        i64.const 26
        i64.shr_u
        i64.add
        local.set $d4
        local.get $d3
        i64.const 0x3ffffff
        i64.and
        local.set $h3
        local.get $d4
        i64.const 0x3ffffff
        i64.and
        local.set $h4
        local.get $h0
        local.get $d4
        i64.const 26
        i64.shr_u
        i64.const 5
        i64.mul
        i64.add
        local.set $h0
        local.get $h1
        local.get $h0
        i64.const 26
        i64.shr_u
        i64.add
        local.set $h1
        local.get $h0
        i64.const 0x3ffffff
        i64.and
        local.set $h0
        local.get $ptr
        i32.const 16
        i32.add
        local.set $ptr
        br $next
      end
    end
    local.get $h0
    global.set $h0
    local.get $h1
    global.set $h1
    local.get $h2
    global.set $h2
    local.get $h3
    global.set $h3
    local.get $h4
    global.set $h4
  )

  ;; Fully reduces h mod p, adds s (key[16..32]) mod 2^128 and stores the tag little-endian at 32..47.
  ;; Selecting h or h - p by mask, not by branch, keeps the time independent of the value.
  (func $finish (export "finish")
    (local $h0 i64)
    (local $h1 i64)
    (local $h2 i64)
    (local $h3 i64)
    (local $h4 i64)
    (local $g0 i64)
    (local $g1 i64)
    (local $g2 i64)
    (local $g3 i64)
    (local $g4 i64)
    (local $mask i64)
    (local $f i64)
    ;; carry h1 → h2 → h3 → h4 → (×5) h0 → h1
    global.get $h0
    local.set $h0
    global.get $h1
    local.set $h1
    global.get $h2
    local.get $h1
    i64.const 26
    i64.shr_u
    i64.add
    local.set $h2
    local.get $h1
    i64.const 0x3ffffff
    i64.and
    local.set $h1
    global.get $h3
    local.get $h2
    i64.const 26
    i64.shr_u
    i64.add
    local.set $h3
    local.get $h2
    i64.const 0x3ffffff
    i64.and
    local.set $h2
    global.get $h4
    local.get $h3
    i64.const 26
    i64.shr_u
    i64.add
    local.set $h4
    local.get $h3
    i64.const 0x3ffffff
    i64.and
    local.set $h3
    local.get $h0
    local.get $h4
    i64.const 26
    i64.shr_u
    i64.const 5
    i64.mul
    i64.add
    local.set $h0
    local.get $h4
    i64.const 0x3ffffff
    i64.and
    local.set $h4
    local.get $h1
    local.get $h0
    i64.const 26
    i64.shr_u
    i64.add
    local.set $h1
    local.get $h0
    i64.const 0x3ffffff
    i64.and
    local.set $h0
    ;; g = h + 5 - 2^130
    local.get $h0
    i64.const 5
    i64.add
    local.set $g0
    local.get $h1
    local.get $g0
    i64.const 26
    i64.shr_u
    i64.add
    local.set $g1
    local.get $g0
    i64.const 0x3ffffff
    i64.and
    local.set $g0
    local.get $h2
    local.get $g1
    i64.const 26
    i64.shr_u
    i64.add
    local.set $g2
    local.get $g1
    i64.const 0x3ffffff
    i64.and
    local.set $g1
    local.get $h3
    local.get $g2
    i64.const 26
    i64.shr_u
    i64.add
    local.set $g3
    local.get $g2
    i64.const 0x3ffffff
    i64.and
    local.set $g2
    local.get $h4
    local.get $g3
    i64.const 26
    i64.shr_u
    i64.add
    i64.const 0x4000000
    i64.sub
    local.set $g4
    local.get $g3
    i64.const 0x3ffffff
    i64.and
    local.set $g3
    ;; mask = all ones when g4 >= 0 (h >= p: take g), zero when g4 went negative (take h)
    local.get $g4
    i64.const 63
    i64.shr_u
    i64.const 1
    i64.sub
    local.set $mask
    local.get $h0
    local.get $g0
    i64.xor
    local.get $mask
    i64.and
    local.get $h0
    i64.xor
    local.set $h0
    local.get $h1
    local.get $g1
    i64.xor
    local.get $mask
    i64.and
    local.get $h1
    i64.xor
    local.set $h1
    local.get $h2
    local.get $g2
    i64.xor
    local.get $mask
    i64.and
    local.get $h2
    i64.xor
    local.set $h2
    local.get $h3
    local.get $g3
    i64.xor
    local.get $mask
    i64.and
    local.get $h3
    i64.xor
    local.set $h3
    local.get $h4
    local.get $g4
    i64.xor
    local.get $mask
    i64.and
    local.get $h4
    i64.xor
    i64.const 0x3ffffff
    i64.and
    local.set $h4
    ;; repack into 32-bit words (in h0..h3), then tag = h + s mod 2^128, word by word with carry in f
    local.get $h0
    local.get $h1
    i64.const 26
    i64.shl
    i64.or
    i64.const 0xffffffff
    i64.and
    local.set $g0
    local.get $h1
    i64.const 6
    i64.shr_u
    local.get $h2
    i64.const 20
    i64.shl
    i64.or
    i64.const 0xffffffff
    i64.and
    local.set $g1
    local.get $h2
    i64.const 12
    i64.shr_u
    local.get $h3
    i64.const 14
    i64.shl
    i64.or
    i64.const 0xffffffff
    i64.and
    local.set $g2
    local.get $h3
    i64.const 18
    i64.shr_u
    local.get $h4
    i64.const 8
    i64.shl
    i64.or
    i64.const 0xffffffff
    i64.and
    local.set $g3
    local.get $g0
    i32.const 0
    i64.load32_u offset=16
    i64.add
    local.set $f
    i32.const 0
    local.get $f
    i64.store32 offset=32
    local.get $g1
    i32.const 0
    i64.load32_u offset=20
    i64.add
    local.get $f
    i64.const 32
    i64.shr_u
    i64.add
    local.set $f
    i32.const 0
    local.get $f
    i64.store32 offset=36
    local.get $g2
    i32.const 0
    i64.load32_u offset=24
    i64.add
    local.get $f
    i64.const 32
    i64.shr_u
    i64.add
    local.set $f
    i32.const 0
    local.get $f
    i64.store32 offset=40
    local.get $g3
    i32.const 0
    i64.load32_u offset=28
    i64.add
    local.get $f
    i64.const 32
    i64.shr_u
    i64.add
    local.set $f
    i32.const 0
    local.get $f
    i64.store32 offset=44
  )
)
