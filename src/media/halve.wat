;; One plane of an I420 frame halved: dst (w × h, packed, at $dst) = the means of the 2 × 2 boxes of the src plane (at
;; $src, row stride $stride), each rounded as (a + b + c + d + 2) >> 2. frame-scaler.ts calls it once per plane.
;; Built into halve-wasm.ts by `npx tsx scripts/build-wasm.ts` (a unit test checks the two are in step).
;;
;; 16 output bytes a step with 128-bit SIMD: two rows of 32 bytes, each byte pair summed into a 16-bit lane
;; (extadd_pairwise), the rows added, +2, >> 2, and the 16 lanes of both halves narrowed back to bytes. The rest of a
;; row (w not a multiple of 16) byte by byte. Reads stay inside the plane: 2 × w ≤ the source width, 2 × h ≤ its height.
(module
  (memory (export "memory") 1)
  (func (export "halvePlane") (param $src i32) (param $stride i32) (param $dst i32) (param $w i32) (param $h i32)
    (local $y i32) (local $x i32) (local $r0 i32) (local $r1 i32) (local $o i32) (local $wv i32) (local $two v128)
    (local.set $two (i16x8.splat (i32.const 2)))
    (local.set $wv (i32.and (local.get $w) (i32.const -16)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $y) (local.get $h)))
        (local.set $r0 (i32.add (local.get $src) (i32.mul (i32.shl (local.get $y) (i32.const 1)) (local.get $stride))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $stride)))
        (local.set $o (i32.add (local.get $dst) (i32.mul (local.get $y) (local.get $w))))
        (local.set $x (i32.const 0))
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.ge_u (local.get $x) (local.get $wv)))
            (v128.store
              (i32.add (local.get $o) (local.get $x))
              (i8x16.narrow_i16x8_u
                (i16x8.shr_u
                  (i16x8.add (local.get $two)
                    (i16x8.add
                      (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $r0) (i32.shl (local.get $x) (i32.const 1)))))
                      (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $r1) (i32.shl (local.get $x) (i32.const 1)))))))
                  (i32.const 2))
                (i16x8.shr_u
                  (i16x8.add (local.get $two)
                    (i16x8.add
                      (i16x8.extadd_pairwise_i8x16_u (v128.load offset=16 (i32.add (local.get $r0) (i32.shl (local.get $x) (i32.const 1)))))
                      (i16x8.extadd_pairwise_i8x16_u (v128.load offset=16 (i32.add (local.get $r1) (i32.shl (local.get $x) (i32.const 1)))))))
                  (i32.const 2))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $vec)))
        (block $sdone
          (loop $scalar
            (br_if $sdone (i32.ge_u (local.get $x) (local.get $w)))
            (i32.store8 (i32.add (local.get $o) (local.get $x))
              (i32.shr_u
                (i32.add (i32.const 2)
                  (i32.add
                    (i32.add (i32.load8_u (i32.add (local.get $r0) (i32.shl (local.get $x) (i32.const 1))))
                             (i32.load8_u offset=1 (i32.add (local.get $r0) (i32.shl (local.get $x) (i32.const 1)))))
                    (i32.add (i32.load8_u (i32.add (local.get $r1) (i32.shl (local.get $x) (i32.const 1))))
                             (i32.load8_u offset=1 (i32.add (local.get $r1) (i32.shl (local.get $x) (i32.const 1)))))))
                (i32.const 2)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $scalar)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))))
