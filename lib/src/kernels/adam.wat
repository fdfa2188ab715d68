;; Adam's update as one pass of 128-bit SIMD over the tfjs wasm heap (four floats per step).
;; tfjs's own Adam issues ~13 element-wise ops per variable, each a pass over up to 1.3M floats
;; plus an allocation; this kernel reads w, g, m, v once and writes w2, m2, v2 once.
;;
;;   m2 = b1·m + (1 − b1)·g
;;   v2 = b2·v + (1 − b2)·g·g
;;   w2 = w − a·m2 / (√v2 + epsHat)
;;
;; which is textbook Adam once the caller folds the bias corrections into two scalars:
;; a = lr·√(1 − b2^t) / (1 − b1^t) and epsHat = eps·√(1 − b2^t).
;;
;; Then the moments are flushed to zero below two floors: m2 when |m2| < 2^-100, v2 when
;; v2 < 2^-126 (the smallest normal float). Weights that never receive a gradient (MNIST's border
;; pixels) have moments that decay geometrically through the subnormal floats, and x86 CPUs do
;; arithmetic on subnormals about 30 times slower (measured: an Adam step on an all-subnormal
;; 784×1200 layer, 28–30 ms against 0.9 ms). Below these floors a moment cannot move a weight:
;; a·m2 / (√v2 + epsHat) < 2^-100·a/epsHat is far below half an ulp of any weight above 2^-60,
;; and √v2 < 2^-63 is far below epsHat; the m2 floor also keeps a·m2 a normal float. NaN is
;; kept (the comparison is false), so divergence still shows.
;; Pointers are byte offsets into the imported memory, not necessarily 16-byte aligned (align=1:
;; tfjs places tensors where it likes); n (floats) is a multiple of 4 and the
;; caller finishes any tail in JavaScript. Assembled to adam.wasm by tools/scripts/assemble-wat.js.
(module
  (import "env" "memory" (memory 1))
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32)
    (param $w2 i32) (param $m2 i32) (param $v2 i32) (param $n i32)
    (param $b1 f32) (param $oneMinusB1 f32) (param $b2 f32) (param $oneMinusB2 f32)
    (param $a f32) (param $epsHat f32)
    (local $i i32) (local $end i32)
    (local $gi v128) (local $mi v128) (local $vi v128)
    (local $B1 v128) (local $OB1 v128) (local $B2 v128) (local $OB2 v128) (local $A v128) (local $EPS v128)
    (local $MFLOOR v128) (local $VFLOOR v128)
    ;; i and end count bytes: 4 per float, 16 per step.
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $OB1 (f32x4.splat (local.get $oneMinusB1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $OB2 (f32x4.splat (local.get $oneMinusB2)))
    (local.set $A (f32x4.splat (local.get $a)))
    (local.set $EPS (f32x4.splat (local.get $epsHat)))
    ;; 2^-100 and 2^-126 as bit patterns: exponent fields 27 and 1.
    (local.set $MFLOOR (i32x4.splat (i32.const 0x0d800000)))
    (local.set $VFLOOR (i32x4.splat (i32.const 0x00800000)))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (loop $step
        (local.set $gi (v128.load align=1 (i32.add (local.get $g) (local.get $i))))
        ;; m2 = b1·m + (1 − b1)·g
        (local.set $mi
          (f32x4.add
            (f32x4.mul (local.get $B1) (v128.load align=1 (i32.add (local.get $m) (local.get $i))))
            (f32x4.mul (local.get $OB1) (local.get $gi))))
        ;; v2 = b2·v + ((1 − b2)·g)·g
        (local.set $vi
          (f32x4.add
            (f32x4.mul (local.get $B2) (v128.load align=1 (i32.add (local.get $v) (local.get $i))))
            (f32x4.mul (f32x4.mul (local.get $OB2) (local.get $gi)) (local.get $gi))))
        ;; Flush: clear the lanes below the floors (andnot with the "below" mask).
        (local.set $mi (v128.andnot (local.get $mi) (f32x4.lt (f32x4.abs (local.get $mi)) (local.get $MFLOOR))))
        (local.set $vi (v128.andnot (local.get $vi) (f32x4.lt (local.get $vi) (local.get $VFLOOR))))
        (v128.store align=1 (i32.add (local.get $m2) (local.get $i)) (local.get $mi))
        (v128.store align=1 (i32.add (local.get $v2) (local.get $i)) (local.get $vi))
        ;; w2 = w − (a·m2) / (√v2 + epsHat)
        (v128.store align=1 (i32.add (local.get $w2) (local.get $i))
          (f32x4.sub
            (v128.load align=1 (i32.add (local.get $w) (local.get $i)))
            (f32x4.div
              (f32x4.mul (local.get $A) (local.get $mi))
              (f32x4.add (f32x4.sqrt (local.get $vi)) (local.get $EPS)))))
        (br_if $step
          (i32.lt_u
            (local.tee $i (i32.add (local.get $i) (i32.const 16)))
            (local.get $end)))))))
