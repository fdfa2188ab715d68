/**
 * Numbers and settings quoted from papers and other code bases, in one place, so the notebooks
 * print them instead of typing them into prose. Each entry says where it comes from.
 */

/** Hinton, Vinyals and Dean (2015), "Distilling the Knowledge in a Neural Network", §3 (MNIST). */
export const HINTON_2015 = {
  arxiv: 'https://arxiv.org/abs/1503.02531',
  /** The paper trained on all 60,000 MNIST training images; it reports no validation split. */
  trainImages: 60000,
  testImages: 10000,
  teacher: { hidden: [1200, 1200], testErrors: 67 },
  student: { hidden: [800, 800], scratchTestErrors: 146, distilledTestErrors: 74, temperature: 20 },
  /** "300 or more units per hidden layer: all temperatures above 8 gave fairly similar results." */
  largeStudentTemperaturesAbove: 8,
  /** "30 units per layer: temperatures from 2.5 to 4 worked significantly better." */
  smallStudentBestT: [2.5, 4],
} as const;

/** Where the term "dark knowledge" comes from: Hinton's talk, not the 2015 paper's text. */
export const DARK_KNOWLEDGE_TALK = {
  title: 'Dark Knowledge (TTIC Distinguished Lecture, Geoffrey Hinton, 2014)',
  url: 'https://www.ttic.edu/dls-2014-2015/',
  slides: 'https://www.ttic.edu/dl/dark14.pdf',
} as const;

/**
 * How other code bases weight the two terms, with the values they show (examples in their
 * configs or tutorials, not library defaults).
 */
export const OTHER_CONVENTIONS = {
  /** keras.io/examples/vision/knowledge_distillation: alpha·CE + (1 − alpha)·KD, MNIST. */
  keras: {
    url: 'https://keras.io/examples/vision/knowledge_distillation/',
    alphaOnStudentLoss: 0.1,
    temperature: 10,
  },
  /** torchdistill: alpha·CE + (1 − alpha)·τ²·KL; alpha 0.5, τ 4 appear in its example configs. */
  torchdistill: { url: 'https://github.com/yoshitomo-matsubara/torchdistill', exampleAlpha: 0.5, exampleTemperature: 4 },
  /** mdistiller's KD: two weights and no alpha (CE_WEIGHT 0.1, KD_WEIGHT 0.9, TEMPERATURE 4). */
  mdistiller: { url: 'https://github.com/megvii-research/mdistiller', ceWeight: 0.1, kdWeight: 0.9, temperature: 4 },
} as const;

/**
 * Srivastava, Hinton, Krizhevsky, Sutskever and Salakhutdinov (2014), "Dropout: A Simple Way to
 * Prevent Neural Networks from Overfitting", JMLR 15:1929–1958: the dropout nets behind Hinton
 * et al. 2015's MNIST teacher ("dropout and weight constraints", 2015 §3).
 */
export const SRIVASTAVA_2014 = {
  url: 'https://jmlr.org/papers/v15/srivastava14a.html',
  /**
   * Appendix B.1 (MNIST): "we used p = 0.5 in all hidden layers and p = 0.8 in the input layer. A
   * final momentum of 0.95 and weight constraints with c = 2 was used in all the layers." p is the
   * probability of KEEPING a unit, so the dropout rates are 0.5 and 0.2.
   */
  mnist: { section: 'Appendix B.1', hiddenDropout: 0.5, inputDropout: 0.2, finalMomentum: 0.95, maxNorm: 2 },
  /** Appendix A.3: typical max-norm radii c lie between 3 and 4 (across their data sets). */
  maxNormTypical: { section: 'Appendix A.3', range: [3, 4] },
} as const;
