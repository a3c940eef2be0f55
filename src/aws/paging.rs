//! Pagination by `NextToken`: the loop every AWS list call needs, written once.

use std::future::Future;

/// Calls `fetch` with no token, then with each `NextToken` it returns, until a page carries none,
/// and returns every item. A page may be empty and still carry a token (Organizations does
/// this): it is followed like any other.
pub(crate) async fn all_pages<T, E, F, Fut>(mut fetch: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = fetch(token.take()).await?;
        items.extend(page);
        match next {
            Some(next) => token = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn follows_tokens_through_empty_pages() {
        let pages = [
            (vec![1, 2], Some("a")),
            (vec![], Some("b")),
            (vec![3], None),
        ];
        let mut seen = Vec::new();
        let items = all_pages(|token: Option<String>| {
            seen.push(token.clone());
            let index = seen.len() - 1;
            let (items, next) = pages[index].clone();
            async move { Ok::<_, ()>((items, next.map(str::to_owned))) }
        })
        .await
        .unwrap();
        assert_eq!(items, [1, 2, 3]);
        assert_eq!(seen, [None, Some("a".to_owned()), Some("b".to_owned())]);
    }
}
