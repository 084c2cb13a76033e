//! `/search` (posts and the web in one ranked list) and `/recommend` (unseen posts on the
//! user's topics).

mod recommend;
mod search;

pub use recommend::{Recommender, recommendation_topics};
pub use search::{Found, FoundSource, SearchError, SearchOutcome, Searcher, WebStatus, merge_results};
