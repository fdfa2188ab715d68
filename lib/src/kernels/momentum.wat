;; SGD with momentum as one pass of 128-bit SIMD over the tfjs wasm heap (four floats per step):
;;
;;   a2 = mu·a + d·g        (d = 1, or 1 − mu for the dampened form)
;;   w2 = w − lr·a2
;;
;; then a2 is flushed to zero when |a2| < 2^-100, as Adam's first moment is (adam.wat says why:
;; a velocity that decays through the subnormal floats makes every step ~30 times slower there,
;; and below the floor lr·a2 cannot move a weight above 2^-60);
;; in float32, each product and sum rounded once: the JavaScript loop the optimizer runs for the
;; tail (and on other backends) rounds the same way (Math.fround), so both give the same bits.
;; Pointers are byte offsets into the imported memory, not necessarily 16-byte aligned; n (floats)
;; is a multiple of 4. Assembled to momentum.wasm by tools/scripts/assemble-wat.js.
(module
  (import "env" "memory" (memory 1))
  (func (export "momentum")
    (param $w i32) (param $g i32) (param $a i32) (param $w2 i32) (param $a2 i32) (param $n i32)
    (param $mu f32) (param $d f32) (param $lr f32)
    (local $i i32) (local $end i32) (local $ai v128)
    (local $MU v128) (local $D v128) (local $LR v128) (local $FLOOR v128)
    ;; i and end count bytes: 4 per float, 16 per step.
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $MU (f32x4.splat (local.get $mu)))
    (local.set $D (f32x4.splat (local.get $d)))
    (local.set $LR (f32x4.splat (local.get $lr)))
    ;; 2^-100 as a bit pattern (exponent field 27).
    (local.set $FLOOR (i32x4.splat (i32.const 0x0d800000)))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (loop $step
        ;; a2 = mu·a + d·g
        (local.set $ai
          (f32x4.add
            (f32x4.mul (local.get $MU) (v128.load align=1 (i32.add (local.get $a) (local.get $i))))
            (f32x4.mul (local.get $D) (v128.load align=1 (i32.add (local.get $g) (local.get $i))))))
        (local.set $ai (v128.andnot (local.get $ai) (f32x4.lt (f32x4.abs (local.get $ai)) (local.get $FLOOR))))
        (v128.store align=1 (i32.add (local.get $a2) (local.get $i)) (local.get $ai))
        ;; w2 = w − lr·a2
        (v128.store align=1 (i32.add (local.get $w2) (local.get $i))
          (f32x4.sub
            (v128.load align=1 (i32.add (local.get $w) (local.get $i)))
            (f32x4.mul (local.get $LR) (local.get $ai))))
        (br_if $step
          (i32.lt_u
            (local.tee $i (i32.add (local.get $i) (i32.const 16)))
            (local.get $end)))))))
