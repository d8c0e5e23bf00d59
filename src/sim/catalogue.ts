// The content catalogue: titles per primary genre, each with fixed secondary genres. A session picks its
// primary genre from the viewer's preferences and then a title by popularity within that genre, the same
// for everyone: so a title, and its secondary genres, say nothing about the viewer beyond the primary genre.
import { GENRES, type Genre } from '../model/events.js'
import type { Rng } from './random.js'
import { cumulative, pick, pickCumulative } from './sampling.js'

/** Titles per primary genre. */
export const TITLES_PER_GENRE = 200
/** Popularity within a genre: weight of the title of rank k (1-based) is k^−ZIPF_EXPONENT. */
export const ZIPF_EXPONENT = 0.8
/** Probabilities of 0, 1, 2 secondary genres on a title. */
const SECONDARY_COUNT = [0.35, 0.4, 0.25]

/** Which secondary genres go with a primary genre (relative weights; person-independent). */
const SECONDARY: Record<Genre, Partial<Record<Genre, number>>> = {
  drama: { romance: 3, crime: 2, comedy: 1, thriller: 1 },
  comedy: { romance: 2, drama: 1, animation: 1, reality: 1 },
  action: { thriller: 3, scifi: 2, fantasy: 1, crime: 1 },
  thriller: { crime: 3, drama: 2, horror: 1, action: 1 },
  crime: { drama: 3, thriller: 3, documentary: 1 },
  scifi: { action: 3, fantasy: 2, thriller: 1, animation: 1 },
  fantasy: { action: 2, animation: 2, scifi: 1, romance: 1 },
  horror: { thriller: 3, scifi: 1, comedy: 1 },
  romance: { drama: 3, comedy: 3 },
  documentary: { news: 1, sports: 1, music: 1, crime: 1 },
  news: { documentary: 2, sports: 1 },
  sports: { documentary: 2, news: 1, reality: 1 },
  kids: { animation: 4, comedy: 2, music: 1, fantasy: 1 },
  animation: { kids: 3, comedy: 2, fantasy: 2, scifi: 1 },
  reality: { comedy: 2, romance: 1, music: 1 },
  music: { documentary: 2, comedy: 1, reality: 1 },
  other: { comedy: 1, drama: 1 },
}

export interface Title {
  readonly id: string
  /** Primary genre first; shared by every event that plays this title. */
  readonly genres: readonly Genre[]
}

export interface Catalogue {
  /** Titles by primary genre index (GENRES order), most popular first. */
  readonly byGenre: readonly (readonly Title[])[]
  /** Cumulative popularity weights of ranks 1..TITLES_PER_GENRE. */
  readonly popularity: Float64Array
}

/** Builds the catalogue: title ids `t00001`, … and their secondary genres. */
export function buildCatalogue(r: Rng): Catalogue {
  let n = 0
  const byGenre = GENRES.map((primary) => {
    const table = Object.entries(SECONDARY[primary]) as [Genre, number][]
    return Array.from({ length: TITLES_PER_GENRE }, (): Title => {
      const genres: Genre[] = [primary]
      const weights = table.map(([, w]) => w)
      for (let k = pick(r, SECONDARY_COUNT); k > 0; k--) {
        const j = pick(r, weights)
        genres.push(table[j]![0])
        weights[j] = 0
      }
      n++
      return { id: `t${String(n).padStart(5, '0')}`, genres: Object.freeze(genres) }
    })
  })
  const popularity = cumulative(Array.from({ length: TITLES_PER_GENRE }, (_, k) => (k + 1) ** -ZIPF_EXPONENT))
  return { byGenre, popularity }
}

/** A title of the given primary genre, by popularity. */
export function pickTitle(r: Rng, c: Catalogue, genreIndex: number): Title {
  return c.byGenre[genreIndex]![pickCumulative(r, c.popularity)]!
}
